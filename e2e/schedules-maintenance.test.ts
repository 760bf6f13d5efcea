/**
 * Issue 6 end to end: real server, real agent CLI, real restic 0.14 behind two `rclone serve
 * restic` instances on ONE data directory — the routine endpoint with --append-only (the host's
 * credential) and a maintenance endpoint without it (a different password for the same
 * --private-repos user), because rclone's --append-only applies to the whole server.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRestServer } from '@restic-manager/testkit';
import type { RestServer } from '@restic-manager/testkit';
import { REST_PASSWORD, eventually, startStack } from './agent-harness.js';
import type { Json, Stack } from './agent-harness.js';

const MAINT_PASSWORD = 'maint-secret-9f3e1c77aa';
let stack: Stack;
let maint: RestServer;
let src: string;

/** A daily cron (6 fields, UTC) that fires `inMs` from now. */
function cronAt(inMs: number): { cron: string; at: number } {
  const t = new Date(Math.ceil((Date.now() + inMs) / 1000) * 1000);
  return { cron: `${t.getUTCSeconds()} ${t.getUTCMinutes()} ${t.getUTCHours()} * * *`, at: t.getTime() };
}

async function jobsOf(scheduleId: string): Promise<Json[]> {
  const r = await stack.api.req('GET', `/api/jobs?host_id=${stack.hostId}&limit=100`);
  return (r.body.items as Json[]).filter((j) => j.schedule_id === scheduleId);
}

async function addSchedule(body: Record<string, unknown>): Promise<string> {
  const r = await stack.api.req('POST', `/api/hosts/${stack.hostId}/schedules`, { time_zone: 'UTC', ...body });
  if (r.status !== 201) throw new Error(`schedule create failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id as string;
}

async function host(): Promise<Json> {
  return (await stack.api.req('GET', `/api/hosts/${stack.hostId}`)).body;
}

/**
 * A schedule whose daily cron fires about `leadMs` from now, acknowledged by the agent at least
 * `marginMs` before that time. On a loaded machine the ack can come after the fire time (the
 * agent never had the schedule when it was due): then the schedule is deleted and made again
 * with twice the lead, so the test checks timing, not the machine's load.
 */
async function scheduleSoon(body: Record<string, unknown>, leadMs: number, marginMs = 1000): Promise<{ id: string; at: number }> {
  for (let lead = leadMs; lead <= leadMs * 4; lead *= 2) {
    const { cron, at } = cronAt(lead);
    const id = await addSchedule({ ...body, cron_expr: cron });
    await eventually(async () => {
      const h = await host();
      return h.applied_schedule_version === h.schedule_version;
    }, 20_000, 'schedule ack');
    if (Date.now() <= at - marginMs) return { id, at };
    await stack.api.req('DELETE', `/api/schedules/${id}`);
  }
  throw new Error(`the agent did not acknowledge a schedule ${marginMs} ms before its time, even ${leadMs * 4} ms ahead`);
}

/** Every file under a directory, concatenated (to grep the agent's state for a secret). */
function readTree(dir: string): string {
  let out = '';
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out += readTree(p);
    else out += fs.readFileSync(p).toString('latin1');
  }
  return out;
}

beforeAll(async () => {
  stack = await startStack();
  maint = await startRestServer({ users: { h1: MAINT_PASSWORD }, privateRepos: true, dataDir: stack.rest.dataDir });
  src = path.join(stack.tmp.path, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'a.txt'), 'hello schedules\n');
}, 60_000);

afterAll(async () => {
  await maint?.stop();
  await stack?.close();
}, 30_000);

describe('schedules and maintenance (real restic, append-only rclone)', () => {
  it('a backup schedule fires on time (seconds-precision cron)', async () => {
    const { id, at } = await scheduleSoon({ kind: 'backup', paths: [src] }, 4000);
    const [job] = await eventually(async () => {
      const j = await jobsOf(id);
      return j.length ? j : null;
    }, 20_000, 'the scheduled job');
    const done = await stack.waitJob(job.id as string);
    expect(done.status).toBe('succeeded');
    expect(done.actor_kind).toBe('schedule');
    const started = Date.parse(done.started_at as string);
    expect(started).toBeGreaterThanOrEqual(at - 1000);
    expect(started).toBeLessThan(at + 5000);
    await stack.api.req('DELETE', `/api/schedules/${id}`);
  }, 90_000);

  it('schedule drift appears while the agent is away and clears on its ack', async () => {
    await stack.stopAgent();
    const id = await addSchedule({ kind: 'check', cron_expr: '0 0 3 * * *' });
    const h = await host();
    expect(h.applied_schedule_version).toBeLessThan(h.schedule_version);
    await stack.startAgent();
    const after = await eventually(async () => {
      const x = await host();
      return x.applied_schedule_version === x.schedule_version ? x : null;
    }, 15_000, 'drift to clear');
    expect(after.schedule_version).toBe(h.schedule_version);
    await stack.api.req('DELETE', `/api/schedules/${id}`);
  }, 60_000);

  it('a run missed while the agent was stopped fires once when it comes back', async () => {
    // The agent must be stopped before the time comes: a margin for the stop on a loaded machine.
    const { id, at } = await scheduleSoon({ kind: 'backup', paths: [src], tags: ['missed'] }, 5000, 3000);
    await stack.stopAgent();
    while (Date.now() < at + 1500) await new Promise((r) => setTimeout(r, 200));
    expect(await jobsOf(id)).toHaveLength(0);
    await stack.startAgent();
    const [job] = await eventually(async () => {
      const j = await jobsOf(id);
      return j.length ? j : null;
    }, 20_000, 'the catch-up job');
    expect((await stack.waitJob(job.id as string)).status).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 2000));
    expect(await jobsOf(id)).toHaveLength(1);
    expect(stack.agentLogs()).toContain('catch-up');
    await stack.api.req('DELETE', `/api/schedules/${id}`);
  }, 90_000);

  it('forget: the append-only credential cannot delete; the maintenance credential can, for one job only', async () => {
    for (let i = 0; i < 2; i++) {
      fs.writeFileSync(path.join(src, `f${i}.txt`), `v${i}\n`);
      expect((await stack.waitJob(await stack.runJob('backup', { paths: [src] }))).status).toBe('succeeded');
    }
    const snaps = async (): Promise<Json[]> => (await stack.api.req('GET', `/api/hosts/${stack.hostId}/snapshots?limit=100`)).body.items as Json[];
    const before = await eventually(async () => {
      const s = await snaps();
      return s.length >= 4 ? s : null;
    }, 10_000, 'four snapshots');
    // The routine user really is append-only: rclone refuses the delete.
    const victim = before[0]!.id as string;
    const del = await fetch(`${stack.rest.url}/h1/snapshots/${victim}`, { method: 'DELETE', headers: { authorization: `Basic ${Buffer.from(`h1:${REST_PASSWORD}`).toString('base64')}` } });
    expect(del.status).toBe(403);
    // Without a maintenance credential the server refuses forget up front (it could only fail).
    const refused = await stack.api.req('POST', `/api/hosts/${stack.hostId}/jobs`, { kind: 'forget', args: { policy: { keep_last: 2 } } });
    expect(refused.status).toBe(409);
    expect(JSON.stringify(refused.body)).toMatch(/append-only.*maintenance credential/);

    const set = await stack.api.req('PUT', `/api/hosts/${stack.hostId}/maintenance-credential`, { url: maint.repoUrl('h1'), rest_username: 'h1', rest_password: MAINT_PASSWORD });
    expect(set.status).toBe(200);
    const status = await stack.api.req('GET', `/api/hosts/${stack.hostId}/maintenance-credential`);
    expect(status.body).toMatchObject({ set: true, rest_username: 'h1' });
    expect(JSON.stringify(status.body)).not.toContain(MAINT_PASSWORD);

    const { id } = await scheduleSoon({ kind: 'forget', retention_policy: { keep_last: 2 } }, 3000);
    const [job] = await eventually(async () => {
      const j = await jobsOf(id);
      return j.length ? j : null;
    }, 20_000, 'the forget job');
    const done = await stack.waitJob(job.id as string);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(done.stats).toMatchObject({ kept: 2 });
    const newest = [...before].sort((a, b) => String(b.time).localeCompare(String(a.time))).slice(0, 2).map((s) => s.id).sort();
    const after = await eventually(async () => {
      const s = await snaps();
      return s.length === 2 ? s : null;
    }, 10_000, 'two snapshots left');
    expect(after.map((s) => s.id).sort()).toEqual(newest);
    expect(fs.readdirSync(path.join(stack.rest.dataDir, 'h1', 'snapshots')).sort()).toEqual(newest);

    // Run-now prune by the admin: also with the maintenance credential, audited with the user.
    expect((await stack.waitJob(await stack.runJob('prune'))).status).toBe('succeeded');
    const audit = await stack.api.req('GET', '/api/audit?action=repo.maintenance_credential.use&limit=50');
    const uses = audit.body.items as Json[];
    expect(uses.some((u) => u.payload.acting?.schedule_id === id)).toBe(true);
    expect(uses.some((u) => u.payload.acting?.username === 'admin' && u.payload.job_kind === 'prune')).toBe(true);
    expect(JSON.stringify(audit.body)).not.toContain(MAINT_PASSWORD);

    // Never persisted on the agent, never logged.
    expect(readTree(stack.agentDir)).not.toContain(MAINT_PASSWORD);
    expect(stack.agentLogs()).not.toContain(MAINT_PASSWORD);
    await stack.api.req('DELETE', `/api/schedules/${id}`);
  }, 120_000);

  it('check reports its result and the lock state to the Repo projection; unlock runs', async () => {
    expect((await stack.waitJob(await stack.runJob('check', { read_data_subset: '50%' }))).status).toBe('succeeded');
    const repo = await eventually(async () => {
      const r = (await stack.api.req('GET', `/api/hosts/${stack.hostId}/repo`)).body;
      return r.last_check_status ? r : null;
    }, 10_000, 'repo stats');
    expect(repo).toMatchObject({ last_check_status: 'succeeded', lock_state: 'unlocked', snapshot_count: 2 });
    expect(repo.size_bytes).toBeGreaterThan(0);
    expect((await stack.waitJob(await stack.runJob('unlock'))).status).toBe('succeeded');
    expect((await stack.api.req('GET', `/api/hosts/${stack.hostId}/locks`)).body).toEqual({ items: [] });
  }, 60_000);
});
