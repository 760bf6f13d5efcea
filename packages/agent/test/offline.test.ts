import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RECOVERY_SEQ, readAgentConfig, statePaths } from '@restic-manager/agent';
import { readSchedules, scheduleStore } from '../src/state/schedule-store.js';
import type { Frame } from './helpers/fake-server.js';
import { until } from './helpers/fixture.js';
import { testFixture, testServer } from './helpers/per-test.js';
import { scriptEngine } from './helpers/script-engine.js';

/** The last-known-good schedule set as the agent stored it (sealed; opened with its key). */
const storedSchedules = (dir: string): unknown => {
  const p = statePaths(dir);
  return readSchedules(p.schedules, p.legacySchedules, readAgentConfig(p.config).secrets_key)?.value;
};

const CRED = { type: 'config.update', repository: '/srv/repo-h1', password: 'offline-test-password' };
const schedule = (version: number, cron: string, enabled = true) => ({
  type: 'schedule.set', schedule_version: version,
  schedules: [{ id: 's1', kind: 'backup', cron_expr: cron, enabled, paths: ['/nonexistent/rm-test-source'] }],
});

/** Per job, the seq numbers must be 0..n-1 with nothing missing (duplicates allowed: replays). */
function assertCompleteLogs(frames: Frame[]): Map<string, number[]> {
  const byJob = new Map<string, number[]>();
  for (const f of frames) {
    if (typeof f.job_id !== 'string' || typeof f.seq !== 'number' || f.seq === RECOVERY_SEQ) continue;
    byJob.set(f.job_id, [...(byJob.get(f.job_id) ?? []), f.seq]);
  }
  for (const [job, seqs] of byJob) {
    const uniq = [...new Set(seqs)].sort((a, b) => a - b);
    expect(uniq, `seqs of ${job}`).toEqual(uniq.map((_, i) => i));
  }
  return byJob;
}

/**
 * A fake server and an agent on it (running `script` for its jobs) that got the credential and
 * `set`; both are closed when the test finishes.
 */
async function startScheduled(script: string, set: Frame) {
  const server = await testServer();
  const fx = testFixture(server.url());
  const agent = await fx.start(scriptEngine({ script }));
  await server.waitFor((m) => m.type === 'hello');
  server.send(CRED);
  server.send(set);
  return { server, fx, agent, port: server.port };
}

describe('offline resilience', () => {
  it('applies schedule.set (ack + last-known-good), keeps firing with the server down, replays reports in order', async () => {
    const { server: down, fx, agent, port } = await startScheduled('echo "backup at $(date +%s%N)"', schedule(7, '* * * * * *'));
    expect(await down.waitFor((f) => f.type === 'schedule.ack')).toEqual({ type: 'schedule.ack', schedule_version: 7 });
    expect(storedSchedules(fx.dir)).toMatchObject({ schedule_version: 7 });
    const first = await down.waitFor((f) => f.type === 'job.started' && f.schedule_id === 's1');
    expect(String(first.job_id)).toMatch(/^[0-9a-f-]{36}$/);

    const firstServerFrames = down.frames;
    await down.close();
    await until(() => !agent.connection.isReady(), 5000, 'disconnect');
    const journal = statePaths(fx.dir).outbox;
    // While the server is down, the schedule keeps firing and reports pile up on disk.
    await until(() => fs.readFileSync(journal, 'utf8').split('\n').filter((l) => l.includes('"job.finished"')).length >= 2, 10_000, 'offline jobs journaled');

    const server = await testServer({ port });
    const hello = await server.waitFor((f) => f.type === 'hello', 10_000);
    expect(hello.applied_schedule_version).toBe(7);
    await until(() => server.frames.filter((f) => f.type === 'job.finished').length >= 2, 10_000, 'replayed finished');
    // Frames acknowledged by the first server are not replayed; together nothing is missing.
    const byJob = assertCompleteLogs([...firstServerFrames, ...server.frames]);
    expect(byJob.size).toBeGreaterThanOrEqual(2);
    // Replayed frames arrive in the order they were produced.
    const idx = server.frames.findIndex((f) => f.type === 'job.started');
    const firstJob = server.frames[idx]!.job_id;
    const own = server.frames.filter((f) => f.job_id === firstJob).map((f) => f.seq as number);
    expect(own).toEqual([...own].sort((a, b) => a - b));
    // Once acknowledged, the journal empties.
    server.send(schedule(8, '0 0 1 1 *'));
    await server.waitFor((f) => f.type === 'schedule.ack' && f.schedule_version === 8);
    await agent.runner.idle();
    await until(() => fs.readFileSync(journal, 'utf8') === '', 5000, 'journal compacted');
  });

  it('keeps queued reports across an agent restart and fires the persisted schedule without the server', async () => {
    const { server: down, fx, agent: a1, port } = await startScheduled('echo offline-run', schedule(3, '0 0 1 1 *'));
    await down.waitFor((f) => f.type === 'schedule.ack');
    await down.close();
    await until(() => !a1.connection.isReady(), 5000, 'disconnect');
    await a1.stop();
    fx.agents.length = 0;

    // Restart with no server and a schedule that fires every second (persisted as last-known-good).
    const sched = storedSchedules(fx.dir) as ReturnType<typeof schedule>;
    sched.schedules[0]!.cron_expr = '* * * * * *';
    const p = statePaths(fx.dir);
    scheduleStore(p.schedules, p.legacySchedules, readAgentConfig(p.config).secrets_key, fx.log).save(sched);
    const a2 = await fx.start(scriptEngine({ script: 'echo offline-run' }));
    const journal = statePaths(fx.dir).outbox;
    await until(() => fs.readFileSync(journal, 'utf8').includes('"job.finished"'), 10_000, 'offline job journaled');
    await a2.stop();
    fx.agents.length = 0;
    const queued = fs.readFileSync(journal, 'utf8').split('\n').filter(Boolean).length;
    expect(queued).toBeGreaterThan(2);

    const server = await testServer({ port });
    await fx.start(scriptEngine({ script: 'echo offline-run' }));
    await server.waitFor((f) => f.type === 'job.finished' && f.status === 'succeeded', 10_000);
    assertCompleteLogs(server.frames);
    expect(server.frames.some((f) => f.payload === 'offline-run')).toBe(true);
  });

  it('a job running when the agent died is reported failed (agent_lost) on restart, not left running', async () => {
    const server = await testServer();
    const fx = testFixture(server.url());
    fs.writeFileSync(statePaths(fx.dir).activeJobs, JSON.stringify([{ job_id: 'lost-1', kind: 'backup' }]));
    await fx.start(scriptEngine({ script: 'true' }));
    const fin = await server.waitFor((f) => f.type === 'job.finished' && f.job_id === 'lost-1');
    expect(fin).toMatchObject({ status: 'failed', error_kind: 'agent_lost', seq: RECOVERY_SEQ });
    expect(String(fin.error)).toMatch(/agent stopped/);
    expect(JSON.parse(fs.readFileSync(statePaths(fx.dir).activeJobs, 'utf8'))).toEqual([]);
  });
});
