import { describe, expect, it } from 'vitest';
import type { Frame } from './helpers/fake-server.js';
import { until } from './helpers/fixture.js';
import { testFixture, testServer } from './helpers/per-test.js';
import { scriptEngine } from './helpers/script-engine.js';

/*
 * Concurrency caps on the agent (issue 21): a schedule the server marks `capped` fires a job that
 * is reported queued with `awaiting_slot` and starts only on `slot.grant` (or, with the server
 * away for longer than the bounded wait, without one).
 */

const CRED = { type: 'config.update', repository: '/srv/repo-h1', password: 'slot-test-password' };
const capped = (version: number, cron: string) => ({
  type: 'schedule.set', schedule_version: version,
  schedules: [{ id: 's1', kind: 'backup', cron_expr: cron, enabled: true, paths: ['/nonexistent/rm-test-source'], capped: true }],
});
const ofJob = (frames: Frame[], id: unknown): string[] => frames.filter((f) => f.job_id === id).map((f) => f.type);

describe('capped scheduled jobs wait for the server\'s slot.grant', () => {
  it('reports job.queued with awaiting_slot, does not start until slot.grant, then runs', async () => {
    const server = await testServer();
    const fx = testFixture(server.url());
    const agent = await fx.start(scriptEngine({ script: 'echo capped-run' }));
    await server.waitFor((m) => m.type === 'hello');
    server.send(CRED);
    server.send(capped(1, '* * * * * *'));
    const queued = await server.waitFor((f) => f.type === 'job.queued' && f.schedule_id === 's1', 10_000);
    expect(queued).toMatchObject({ kind: 'backup', awaiting_slot: true });
    const id = queued.job_id;
    // Later fires of the same schedule are skipped while it waits; nothing starts without a grant.
    await until(() => agent.runner.activeJobIds().includes(String(id)), 5000, 'job held by the runner');
    // Two more fires of the every-second cron are skipped (the job is still waiting); it has not started.
    await until(() => fx.logs.filter((l) => l.includes('skipping this run')).length >= 2, 10_000, 'two skipped fires');
    expect(ofJob(server.frames, id)).toEqual(['job.queued']);
    expect(server.frames.filter((f) => f.type === 'job.started')).toEqual([]);
    expect(server.frames.filter((f) => f.type === 'job.queued')).toHaveLength(1);

    server.send({ type: 'slot.grant', job_id: id });
    const fin = await server.waitFor((f) => f.type === 'job.finished' && f.job_id === id, 10_000);
    expect(fin.status).toBe('succeeded');
    expect(ofJob(server.frames, id).slice(0, 2)).toEqual(['job.queued', 'job.started']);
    expect(server.frames.some((f) => f.job_id === id && f.payload === 'capped-run')).toBe(true);
  });

  it('a grant for a job it does not hold is ignored; a cancel while waiting reports the job cancelled', async () => {
    const server = await testServer();
    const fx = testFixture(server.url());
    await fx.start(scriptEngine({ script: 'echo never' }));
    await server.waitFor((m) => m.type === 'hello');
    server.send({ type: 'slot.grant', job_id: 'no-such-job' });
    server.send(CRED);
    server.send(capped(1, '* * * * * *'));
    const queued = await server.waitFor((f) => f.type === 'job.queued' && f.awaiting_slot === true, 10_000);
    server.send({ type: 'command.cancel', job_id: queued.job_id });
    const fin = await server.waitFor((f) => f.type === 'job.finished' && f.job_id === queued.job_id, 10_000);
    expect(fin).toMatchObject({ status: 'cancelled', error_kind: 'cancelled' });
    expect(ofJob(server.frames, queued.job_id)).not.toContain('job.started');
  });

  it('asks again after a reconnect, and runs without a slot once the server stayed away past the bounded wait', async () => {
    const down = await testServer();
    const fx = testFixture(down.url());
    const agent = await fx.start(scriptEngine({ script: 'echo ran-without-slot' }), { slotOfflineWaitMs: 1500 });
    await down.waitFor((m) => m.type === 'hello');
    down.send(CRED);
    down.send(capped(1, '* * * * * *'));
    const queued = await down.waitFor((f) => f.type === 'job.queued' && f.awaiting_slot === true, 10_000);
    const port = down.port;
    await down.close();
    await until(() => !agent.connection.isReady(), 5000, 'disconnect');
    // Back within the bounded wait: the agent asks for the slot again instead of running.
    const up = await testServer({ port });
    const again = await up.waitFor((f) => f.type === 'job.queued' && f.job_id === queued.job_id, 10_000);
    expect(again.awaiting_slot).toBe(true);
    expect(ofJob(up.frames, queued.job_id)).not.toContain('job.started');
    // Away again, longer than the bounded wait: it starts without a grant and says so in its log.
    await up.close();
    await until(() => !agent.connection.isReady(), 5000, 'disconnect again');
    const started = Date.now();
    await until(() => !agent.runner.activeJobIds().includes(String(queued.job_id)), 15_000, 'job ran offline');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const back = await testServer({ port });
    const fin = await back.waitFor((f) => f.type === 'job.finished' && f.job_id === queued.job_id, 15_000);
    expect(fin.status).toBe('succeeded');
    expect(back.frames.some((f) => f.job_id === queued.job_id && String(f.payload).includes('starting without a concurrency slot'))).toBe(true);
  });
});
