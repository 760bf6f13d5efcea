import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { enrolledAgent, eventually, startHarness } from './helpers/harness.js';

/*
 * A host protected only by its vault (decision server-0008): its vault backups feed
 * last_vault_backup_at/_status — over the API, on the host page, in the dashboard's Last backup
 * column (not "never") and in /metrics — and leave the restic projection alone.
 */
const RECIPIENT = 'age1d6e0x5hfamz0hztz5qscux3m87f7lhd7kgalsgsr26k84mgt0e7s3ukm54';

describe('vault backups feed the host projections', () => {
  let h: Harness;
  let agent: FakeAgent;
  let hostId: string;
  const page = async (p: string) => {
    const r = await h.admin.req('GET', p);
    expect(r.status, r.text.slice(0, 300)).toBe(200);
    return r.text;
  };

  beforeAll(async () => {
    h = await startHarness({}, { mountWeb: undefined });
    const e = await enrolledAgent(h, 'vault-only');
    hostId = e.hostId;
    agent = new FakeAgent({ url: h.url, bearer: e.bearer, hostname: 'vault-only', features: ['vault'] });
    await agent.connect();
    expect((await h.admin.req('PUT', `/api/hosts/${hostId}/vault`, { storage: { type: 'local', path: '/srv/vault' }, age_recipient: RECIPIENT })).status).toBe(200);
  });
  afterAll(async () => {
    await agent?.close();
    await h?.close();
  });

  it('starts with no vault backup: null over the API, no vault line, no vault gauge', async () => {
    expect((await h.admin.req('GET', `/api/hosts/${hostId}`)).body).toMatchObject({ last_backup_at: null, last_vault_backup_at: null, last_vault_backup_status: null });
    expect(await page(`/hosts/${hostId}`)).not.toContain('last vault backup');
    expect(await (await fetch(`${h.url}/metrics`)).text()).not.toMatch(/^restic_manager_last_vault_backup_status\{host="vault-only"\}/m);
  });

  it('a successful vault backup sets last_vault_backup_at/_status, shown on the host page, the dashboard and /metrics', async () => {
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'vault_backup', args: { paths: ['/etc'] } });
    expect(run.status, run.text).toBe(202);
    await agent.next('command.run');
    const jobId = run.body.job.id as string;
    agent.started(jobId, 'vault_backup');
    agent.finished(jobId, 'succeeded', { stats: { snapshot_id: '20261201T030000Z-1a2b3c4d' } });
    await eventually(async () => (await h.server.services.jobs.get(jobId)).status === 'succeeded');
    const job = await h.server.services.jobs.get(jobId);
    const host = (await h.admin.req('GET', `/api/hosts/${hostId}`)).body;
    expect(host).toMatchObject({ last_vault_backup_at: job.finished_at, last_vault_backup_status: 'succeeded', last_backup_at: null, last_backup_status: null });

    const hostPage = await page(`/hosts/${hostId}`);
    expect(hostPage).toMatch(/<span id="host-last-vault-backup">last vault backup <time datetime="[^"]+"/);
    const dash = await page('/');
    const row = /<tr class="row-link" data-host-id="[^"]+">[\s\S]*?<\/tr>/.exec(dash.slice(dash.indexOf(`data-host-id="${hostId}"`) - 40))?.[0] ?? '';
    expect(row).toContain(`id="host-vault-backup-${hostId}"`);
    expect(row).not.toContain('>never<');

    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toContain('# TYPE restic_manager_last_vault_backup_timestamp_seconds gauge\n');
    expect(metrics).toMatch(/^restic_manager_last_vault_backup_status\{host="vault-only"\} 1$/m);
    expect(metrics).toMatch(new RegExp(`^restic_manager_last_vault_backup_timestamp_seconds\\{host="vault-only"\\} ${Date.parse(job.finished_at!) / 1000}$`, 'm'));
    expect(metrics).not.toMatch(/^restic_manager_last_backup_status\{host="vault-only"\}/m);
  });

  it('a vault backup the server ends itself (cancelled before it was sent) updates the vault projection too', async () => {
    await agent.close();
    await eventually(async () => (await h.server.services.hosts.get(hostId)).status === 'offline');
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'vault_backup', args: { paths: ['/etc'] } });
    expect(run.body.dispatched).toBe(false);
    expect((await h.admin.req('POST', `/api/jobs/${run.body.job.id as string}/cancel`)).status).toBe(202);
    expect((await h.admin.req('GET', `/api/hosts/${hostId}`)).body).toMatchObject({ last_vault_backup_status: 'cancelled', last_backup_status: null });
    expect(await (await fetch(`${h.url}/metrics`)).text()).toMatch(/^restic_manager_last_vault_backup_status\{host="vault-only"\} 0$/m);
  });
});
