import { beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '@restic-manager/testkit';
import type { FakeServer } from './helpers/fake-server.js';
import type { Frame } from './helpers/fake-server.js';
import { useResticAgent } from './helpers/restic-agent.js';

const restic = requireTool('restic');
if (!restic.ok) console.warn(`skipping the backup-window stop test: ${restic.reason}`);

const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);

/*
 * Issue 21: a backup started in a `stop` window is cancelled when the window closes, and its job
 * ends with the window's reason (not a generic failure). Real agent, real restic on a local
 * repository; the window is the current UTC minute of the agent's clock, which runs `shift` ahead
 * of the real one so that the minute has 10 s left when the test starts (windows are whole
 * minutes: on the real clock the test waited up to a minute).
 */
describe.skipIf(!restic.ok)('backup window stop (real agent, real restic)', () => {
  let shift = 0;
  const agent = useResticAgent('rm-window-stop-', 'window-stop-test-pw-7d2e', { files: 20, totalBytes: 8 * 1024 * 1024, seed: 'window' }, { now: () => Date.now() + shift });
  let server: FakeServer;
  let src: string;
  beforeAll(() => {
    ({ server, src } = agent());
  });

  it('cancels the running backup at the window end with "stopped at the end of its backup window"', async () => {
    const real = Date.now();
    shift = (50_000 - (real % 60_000) + 60_000) % 60_000;
    const open = Math.floor((real + shift) / 60_000) * 60_000;
    const close = open + 60_000; // on the agent's clock: 10 s from now
    const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    server.send({
      type: 'schedule.set', schedule_version: 1,
      schedules: [{
        id: 'win', kind: 'backup', cron_expr: '* * * * * *', time_zone: 'UTC', enabled: true, paths: [src], excludes: [], tags: [], retention_policy: null,
        // ~8 MiB at 32 KiB/s would take minutes: the window ends it.
        options: { limit_upload_kbps: 32 }, pre_hook: null, post_hook: null, run_as: null,
        windows: [{ windows: [{ days, start: hhmm(open), end: hhmm(close), at_end: 'stop' }], blackouts: [], source: 'schedule' }],
      }],
    });
    const started = await server.waitFor((f) => f.schedule_id === 'win' && f.type === 'job.started', 20_000);
    const job = started.job_id as string;
    expect(Date.parse(String(started.started_at)) + shift).toBeLessThan(close);
    const fin: Frame = await server.waitFor((f) => f.job_id === job && f.type === 'job.finished', close - shift - Date.now() + 20_000);
    expect(fin).toMatchObject({ status: 'cancelled', error: 'stopped at the end of its backup window', error_kind: 'cancelled' });
    const endedAt = Date.parse(String(fin.finished_at)) + shift;
    expect(endedAt).toBeGreaterThanOrEqual(close);
    expect(endedAt - close).toBeLessThan(10_000);
    // restic was really running: it printed its own lines before the stop.
    expect(server.frames.some((f) => f.job_id === job && f.type === 'log.stream')).toBe(true);
  }, 120_000);
});
