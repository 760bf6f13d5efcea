import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { enrolledAgent, startHarness } from './helpers/harness.js';

/*
 * stop_containers label selectors on the server (issue 18): the API and both forms accept
 * `label:<key>[=<value>]`, refuse hostile entries naming the field, and never send a label entry
 * to an agent that did not announce `stop_containers_labels` (its schedule goes disabled, a
 * run-now is refused). Also: the host page's schedules tab says in one line why Docker was not
 * looked at.
 */
describe('stop_containers label selectors on the server', () => {
  let h: Harness;
  let oldAgent: FakeAgent;
  let newAgent: FakeAgent;
  let oldId: string;
  let newId: string;
  const form = { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' };
  type Spec = { id: string; enabled: boolean; stop_containers?: string[] };

  beforeAll(async () => {
    h = await startHarness({}, { mountWeb: undefined });
    ({ agent: oldAgent, hostId: oldId } = await enrolledAgent(h, 'old-stops', { url: '/srv/old', password: 'repo-password-123456' }, ['stop_containers']));
    ({ agent: newAgent, hostId: newId } = await enrolledAgent(h, 'new-stops', { url: '/srv/new', password: 'repo-password-123456' }, ['stop_containers', 'stop_containers_labels']));
    await oldAgent.connect();
    await newAgent.connect();
  });
  afterAll(async () => {
    await oldAgent?.close();
    await newAgent?.close();
    await h?.close();
  });

  /** The schedule as the agent's next schedule.set carries it. */
  const pushed = async (agent: FakeAgent, id: string): Promise<Spec | undefined> => {
    for (let i = 0; i < 10; i++) {
      const s = ((await agent.next('schedule.set')) as unknown as { schedules: Spec[] }).schedules.find((x) => x.id === id);
      if (s) return s;
    }
    return undefined;
  };

  it('an agent announcing stop_containers_labels gets label entries on schedules and run-now jobs', async () => {
    const list = ['app', 'label:com.docker.compose.project=shop', 'label:backup.stop'];
    const r = await h.admin.req('POST', `/api/hosts/${newId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/srv'], stop_containers: list });
    expect(r.status, r.text).toBe(201);
    expect(r.body.stop_containers).toEqual(list);
    expect(await pushed(newAgent, r.body.id as string)).toMatchObject({ enabled: true, stop_containers: list });
    const run = await h.admin.req('POST', `/api/hosts/${newId}/jobs`, { kind: 'backup', args: { paths: ['/srv'], stop_containers: ['label:backup.stop=yes'] } });
    expect(run.status, run.text).toBe(202);
    expect(await newAgent.next('command.run')).toMatchObject({ args: { stop_containers: ['label:backup.stop=yes'] } });
  });

  it('an agent that predates label selectors: such a schedule goes to it disabled, names still go; run-now is refused naming the field', async () => {
    const byLabel = await h.admin.req('POST', `/api/hosts/${oldId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/srv'], stop_containers: ['app', 'label:backup.stop'] });
    expect(byLabel.status, byLabel.text).toBe(201);
    const spec = await pushed(oldAgent, byLabel.body.id as string);
    expect(spec).toMatchObject({ enabled: false });
    expect(spec).not.toHaveProperty('stop_containers');
    const byName = await h.admin.req('POST', `/api/hosts/${oldId}/schedules`, { kind: 'backup', cron_expr: '0 4 * * *', paths: ['/srv'], stop_containers: ['app'] });
    expect(await pushed(oldAgent, byName.body.id as string)).toMatchObject({ enabled: true, stop_containers: ['app'] });
    const run = await h.admin.req('POST', `/api/hosts/${oldId}/jobs`, { kind: 'backup', args: { paths: ['/srv'], stop_containers: ['label:backup.stop'] } });
    expect(run.status).toBe(409);
    expect(run.body.error.message).toBe('the agent on old-stops (version 0.0.0-fake) predates label selectors in stop_containers: upgrade it, or list container names');
    expect(run.body.error.fields).toEqual({ 'args.stop_containers': 'the agent cannot select containers by label' });
    expect((await h.admin.req('POST', `/api/hosts/${oldId}/jobs`, { kind: 'backup', args: { paths: ['/srv'], stop_containers: ['app'] } })).status).toBe(202);
  });

  it('hostile entries are refused with 400 naming the entry', async () => {
    const bad = await h.admin.req('POST', `/api/hosts/${newId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: ['/srv'], stop_containers: ['app', 'label:x=$(reboot)'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual({ 'stop_containers.1': 'a label value is A-Z a-z 0-9 . _ - : / @ + (no = , spaces or quotes)' });
    const run = await h.admin.req('POST', `/api/hosts/${newId}/jobs`, { kind: 'backup', args: { paths: ['/srv'], stop_containers: ['label:\nwarning: forged'] } });
    expect(run.status).toBe(400);
    expect(run.body.error.fields).toEqual({ 'args.stop_containers.0': 'a label key is A-Z a-z 0-9 . _ - (starting with a letter or digit)' });
    expect(run.text).not.toContain('forged');
  });

  it('the schedule editor and the Run now panel say labels are accepted; the Run now form sends them', async () => {
    const sched = await h.admin.req('GET', `/hosts/${newId}/schedules`);
    expect(sched.status).toBe(200);
    expect(sched.text).toContain('Comma-separated container names, or labels: label:KEY (every running container with that label) or label:KEY=VALUE');
    const host = await h.admin.req('GET', `/hosts/${newId}`);
    expect(host.text).toContain('id="f-args.stop_containers"');
    expect(host.text).toContain('Comma-separated container names, or labels: label:KEY or label:KEY=VALUE');
    const r = await h.admin.req('POST', `/hosts/${newId}/run`, new URLSearchParams({ kind: 'backup', 'args.paths': '/srv', 'args.stop_containers': 'web, label:com.docker.compose.project=shop' }).toString(), form);
    expect(r.status, r.text).toBeLessThan(400);
    expect(await newAgent.next('command.run')).toMatchObject({ args: { paths: ['/srv'], stop_containers: ['web', 'label:com.docker.compose.project=shop'] } });
    const bad = await h.admin.req('POST', `/hosts/${newId}/run`, new URLSearchParams({ kind: 'backup', 'args.paths': '/srv', 'args.stop_containers': 'label:' }).toString(), form);
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual({ 'args.stop_containers.0': 'label:<key>[=<value>] needs a key' });
  });

  it('no Docker engine, or a socket it cannot read: the schedules tab says so in one line', async () => {
    for (const why of ['/var/run/docker.sock does not exist (no Docker engine here)', '/var/run/docker.sock: connect EACCES /var/run/docker.sock']) {
      const at = new Date().toISOString();
      newAgent.send({ type: 'databases.report', discovered_at: at, local: [], containers: [], docker_error: why, volumes: [] });
      for (let i = 0; i < 100 && (await h.admin.req('GET', `/api/hosts/${newId}/databases`)).body.discovered_at !== at; i++) await new Promise((r) => setTimeout(r, 20));
      const page = await h.admin.req('GET', `/hosts/${newId}/schedules`);
      const lines = [...page.text.matchAll(/<div id="docker-error">([^<]*)<\/div>/g)].map((m) => m[1]);
      expect(lines).toEqual([`No Docker containers looked at: ${why}`]);
    }
  });
});
