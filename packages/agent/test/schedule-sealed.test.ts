import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readAgentConfig, statePaths } from '@restic-manager/agent';
import { LocalScheduler } from '../src/scheduler.js';
import { createLogger } from '../src/log.js';
import type { JobRequest } from '../src/jobs/runner.js';
import { scheduleStore } from '../src/state/schedule-store.js';
import { testFixture, testServer } from './helpers/per-test.js';
import { scriptEngine } from './helpers/script-engine.js';

/*
 * Issue 13 finding 9: database passwords and hook bodies of the last-known-good schedule set
 * are sealed at rest like the repository credentials (AES-256-GCM with the agent's secrets key),
 * a plain-text schedules.json from an older agent is sealed on load, and offline schedules still
 * fire with their hooks and passwords.
 */
const PRE = 'pg_dumpall > /tmp/PRE-HOOK-BODY-7f3a';
const POST = 'curl -fsS https://hc.example/POST-HOOK-BODY-9c1d';
const PASSWORD = 'DB-PASSWORD-4e8b';
const SET = {
  type: 'schedule.set', schedule_version: 7,
  schedules: [{
    id: 's1', kind: 'backup', cron_expr: '0 */5 * * * *', enabled: true, paths: ['/srv'], excludes: [], tags: [], retention_policy: null, options: {},
    pre_hook: PRE, post_hook: POST, run_as: null,
    databases: [{ engine: 'postgres', host: '127.0.0.1', port: 5432, user: 'backup', password: PASSWORD, database: 'app' }],
  }],
};
const SECRETS = [PRE, POST, PASSWORD, 'PRE-HOOK-BODY', 'POST-HOOK-BODY', 'DB-PASSWORD'];

const made: LocalScheduler[] = [];
afterEach(() => {
  for (const s of made.splice(0)) s.stop();
});

/** Every file under the state dir, as text. */
function stateFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.set(path.join(e.parentPath, e.name), fs.readFileSync(path.join(e.parentPath, e.name)).toString('latin1'));
  }
  return out;
}

function scheduler(dir: string, clock: { now: number }) {
  const jobs: JobRequest[] = [];
  const p = statePaths(dir);
  const log = createLogger({ write: () => undefined });
  const s = new LocalScheduler({
    store: scheduleStore(p.schedules, p.legacySchedules, readAgentConfig(p.config).secrets_key, log), runsFile: p.scheduleRuns,
    submit: (j) => jobs.push(j), busy: () => false, log, now: () => clock.now, wakeCheckMs: 0,
  });
  made.push(s);
  return { s, jobs };
}

describe('schedules at rest', () => {
  it('after a schedule sync, no file of the state dir holds a hook body or a database password', async () => {
    const server = await testServer();
    const fx = testFixture(server.url());
    await fx.start(scriptEngine({ script: 'true' }));
    await server.waitFor((f) => f.type === 'hello');
    server.send(SET);
    await server.waitFor((f) => f.type === 'schedule.ack' && f.schedule_version === 7);
    const files = stateFiles(fx.dir);
    expect(files.size).toBeGreaterThan(0);
    for (const [file, text] of files) for (const s of SECRETS) expect(text.includes(s), `${path.basename(file)} contains ${s}`).toBe(false);
    expect(fx.logs.join('')).not.toMatch(/PRE-HOOK-BODY|POST-HOOK-BODY|DB-PASSWORD/);
  });

  it('offline, the sealed set loads at start-up and fires with its hooks and database password', async () => {
    const server = await testServer();
    const fx = testFixture(server.url());
    const clock = { now: Date.now() };
    const a = scheduler(fx.dir, clock);
    a.s.apply(SET as never);
    a.s.stop();
    clock.now += 3_600_000;
    const b = scheduler(fx.dir, clock);
    expect(b.s.loadPersisted()).toBe(7);
    expect(b.jobs).toHaveLength(1);
    expect(b.jobs[0]!.args).toMatchObject({ pre_hook: PRE, post_hook: POST, databases: [{ password: PASSWORD }] });
  });

  it('seals a plain-text schedules.json left by an older agent on load, and still fires it', async () => {
    const server = await testServer();
    const fx = testFixture(server.url());
    const p = statePaths(fx.dir);
    fs.writeFileSync(p.legacySchedules, JSON.stringify(SET), { mode: 0o600 });
    const clock = { now: Date.now() };
    const a = scheduler(fx.dir, clock);
    expect(a.s.loadPersisted()).toBe(7);
    expect(fs.existsSync(p.legacySchedules)).toBe(false);
    for (const [file, text] of stateFiles(fx.dir)) for (const s of SECRETS) expect(text.includes(s), `${path.basename(file)} contains ${s}`).toBe(false);
    a.s.stop();
    clock.now += 3_600_000;
    const b = scheduler(fx.dir, clock);
    expect(b.s.loadPersisted()).toBe(7);
    expect(b.jobs[0]!.args).toMatchObject({ pre_hook: PRE, databases: [{ password: PASSWORD }] });
  });

  it('a sealed file from another key is refused as corrupt (no schedule until the server sends one)', async () => {
    const server = await testServer();
    const fx = testFixture(server.url());
    const p = statePaths(fx.dir);
    const a = scheduler(fx.dir, { now: Date.now() });
    a.s.apply(SET as never);
    const other = scheduleStore(p.schedules, p.legacySchedules, Buffer.alloc(32, 7).toString('base64'), createLogger({ write: () => undefined }));
    expect(() => other.load()).toThrow(/schedules\.enc cannot be read/);
  });
});
