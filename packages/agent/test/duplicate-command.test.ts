import { describe, expect, it } from 'vitest';
import { until } from './helpers/fixture.js';
import { runnerBench } from './helpers/runner-bench.js';
import type { Frame } from './helpers/runner-bench.js';
import { scriptEngine } from './helpers/script-engine.js';

/*
 * Issue 22: after a reconnect the server sends a command lost in flight once more. The agent
 * must run a job id at most once: a second command.run for a job it is running, has queued or
 * already ran is ignored (its reports are in the outbox).
 */

const start = runnerBench('rm-dup-command-', { repository: '/srv/repo-dup', password: 'pw-dup-command' });

const of = (frames: Frame[], job: string, type: string): Frame[] => frames.filter((f) => f.job_id === job && f.type === type);

describe('a duplicate command.run', () => {
  it('for a job that already ran is ignored: it starts and finishes once', async () => {
    const { runner, frames, logs } = await start(scriptEngine({ script: 'echo ok' }));
    runner.submit({ jobId: 'd1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await until(() => of(frames, 'd1', 'job.finished').length > 0, 10_000, 'the job to finish');
    await runner.idle();
    runner.submit({ jobId: 'd1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    runner.submit({ jobId: 'd2', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await until(() => of(frames, 'd2', 'job.finished').length > 0, 10_000, 'the next job to finish');
    expect(of(frames, 'd1', 'job.started')).toHaveLength(1);
    expect(of(frames, 'd1', 'job.finished')).toHaveLength(1);
    expect(logs.join('\n')).toMatch(/ignoring a duplicate command.run for a job this agent already ran/);
  });

  it('for a job that is running is ignored', async () => {
    const { runner, frames, logs } = await start(scriptEngine({ script: 'sleep 0.5; echo ok' }));
    runner.submit({ jobId: 'r1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await until(() => of(frames, 'r1', 'job.started').length > 0, 10_000, 'the job to start');
    runner.submit({ jobId: 'r1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await until(() => of(frames, 'r1', 'job.finished').length > 0, 10_000, 'the job to finish');
    await runner.idle();
    expect(of(frames, 'r1', 'job.started')).toHaveLength(1);
    expect(of(frames, 'r1', 'job.finished')).toHaveLength(1);
    expect(logs.join('\n')).toMatch(/already queued or running/);
  });
});
