import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from './local-stack.js';
import { eventually, localStackTools, startLocalStack } from './local-stack.js';

/*
 * The host time zone reaches the real agent's scheduler: a schedule without its own zone, whose
 * seconds-precision cron names a wall-clock time in Asia/Kolkata (UTC+5:30) about 15 s ahead,
 * fires at that instant. Read in the machine's zone instead, the same cron names a time hours
 * away, so a fire within the test window shows that the agent used the host's zone.
 */

if (localStackTools.length) console.warn(`skipping host time zone e2e: missing ${localStackTools.join(', ')}`);

const ZONE = 'Asia/Kolkata';

/** Wall-clock fields of `d` in `zone`: [second, minute, hour, day, month]. */
function wallClock(d: Date, zone: string): number[] {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', second: 'numeric', minute: 'numeric', hour: 'numeric', day: 'numeric', month: 'numeric' }).formatToParts(d);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  return [get('second'), get('minute'), get('hour'), get('day'), get('month')];
}

describe.skipIf(localStackTools.length > 0)('host time zone through the real agent scheduler', { timeout: 90_000 }, () => {
  let s: LocalStack;
  let src: string;
  beforeAll(async () => {
    s = await startLocalStack();
    src = path.join(s.tmp.path, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'f.txt'), 'tz\n');
  });
  afterAll(async () => s?.close());

  it('fires a zone-less schedule at the wall-clock time of the host zone', async () => {
    expect(wallClock(new Date(), ZONE)[2]).not.toBe(wallClock(new Date(), 'UTC')[2]); // the zones really differ
    const set = await s.api.req('PUT', `/api/hosts/${s.hostId}/time-zone`, { time_zone: ZONE });
    expect(set.status).toBe(200);
    const target = new Date(Math.ceil((Date.now() + 15_000) / 1000) * 1000);
    const [sec, min, hour, day, month] = wallClock(target, ZONE);
    const cron = `${String(sec)} ${String(min)} ${String(hour)} ${String(day)} ${String(month)} *`;
    const created = await s.api.req('POST', `/api/hosts/${s.hostId}/schedules`, { kind: 'backup', cron_expr: cron, paths: [src] });
    expect(created.status).toBe(201);
    expect(created.body.time_zone).toBeNull();
    const host = await eventually(async () => {
      const h = (await s.api.req('GET', `/api/hosts/${s.hostId}`)).body;
      return h.applied_schedule_version === h.schedule_version ? h : null;
    }, 10_000, 'the agent to apply the schedule');
    expect(Date.now()).toBeLessThan(target.getTime() - 1000);
    expect(host.time_zone).toBe(ZONE);

    const job = await eventually(async () => {
      const r = await s.api.req('GET', `/api/jobs?host_id=${s.hostId}&kind=backup`);
      return (r.body.items as { schedule_id: string | null; created_at: string }[]).find((j) => j.schedule_id === created.body.id) ?? null;
    }, 40_000, `the schedule "${cron}" (${ZONE}) to fire at ${target.toISOString()}`);
    const lag = new Date(job.created_at).getTime() - target.getTime();
    expect(lag).toBeGreaterThanOrEqual(-1000);
    expect(lag).toBeLessThan(5000);
  });
});
