import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobRunner, createLogger } from '@restic-manager/agent';
import { tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { until } from './helpers/fixture.js';
import { scriptEngine } from './helpers/script-engine.js';

/*
 * Issue 22: after a reconnect the server sends a command lost in flight once more. The agent
 * must run a job id at most once: a second command.run for a job it is running, has queued or
 * already ran is ignored (its reports are in the outbox).
 */

type Frame = Record<string, unknown>;

let tmp: TempDir;
let runner: JobRunner | null = null;
beforeEach(async () => {
  tmp = await tempDir('rm-dup-command-');
});
afterEach(async () => {
  await runner?.shutdown();
  runner = null;
  await tmp.cleanup();
});

function start(script: string): { frames: Frame[]; logs: string[] } {
  const frames: Frame[] = [];
  const logs: string[] = [];
  runner = new JobRunner({
    engine: () => Promise.resolve(scriptEngine({ script })), emit: (f) => void frames.push(f),
    secrets: () => ({ repository: '/srv/repo-dup', password: 'pw-dup-command' }),
    activeJobsFile: `${tmp.path}/active-jobs.json`, log: createLogger({ write: (l: string) => void logs.push(l) }), lockRefreshMs: 0,
  });
  return { frames, logs };
}

const of = (frames: Frame[], job: string, type: string): Frame[] => frames.filter((f) => f.job_id === job && f.type === type);

describe('a duplicate command.run', () => {
  it('for a job that already ran is ignored: it starts and finishes once', async () => {
    const { frames, logs } = start('echo ok');
    runner!.submit({ jobId: 'd1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await until(() => of(frames, 'd1', 'job.finished').length > 0, 10_000, 'the job to finish');
    await runner!.idle();
    runner!.submit({ jobId: 'd1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    runner!.submit({ jobId: 'd2', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await until(() => of(frames, 'd2', 'job.finished').length > 0, 10_000, 'the next job to finish');
    expect(of(frames, 'd1', 'job.started')).toHaveLength(1);
    expect(of(frames, 'd1', 'job.finished')).toHaveLength(1);
    expect(logs.join('\n')).toMatch(/ignoring a duplicate command.run for a job this agent already ran/);
  });

  it('for a job that is running is ignored', async () => {
    const { frames, logs } = start('sleep 0.5; echo ok');
    runner!.submit({ jobId: 'r1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await until(() => of(frames, 'r1', 'job.started').length > 0, 10_000, 'the job to start');
    runner!.submit({ jobId: 'r1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await until(() => of(frames, 'r1', 'job.finished').length > 0, 10_000, 'the job to finish');
    await runner!.idle();
    expect(of(frames, 'r1', 'job.started')).toHaveLength(1);
    expect(of(frames, 'r1', 'job.finished')).toHaveLength(1);
    expect(logs.join('\n')).toMatch(/already queued or running/);
  });
});
