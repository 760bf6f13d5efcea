import { describe, expect, it } from 'vitest';
import { JobLogQuota } from '../src/services/job-log-quota.js';
import { TokenBucket } from '@restic-manager/protocol';

describe('JobLogQuota', () => {
  it('continues from what the store holds after a restart: a job already past its quota stores nothing more', async () => {
    const q = new JobLogQuota(async () => ({ lines: 4, bytes: 40 }), { maxLines: 3, maxBytes: 1000 });
    expect(await q.admit('j', 9, 'late')).toEqual({ kind: 'drop' });
    expect(q.finish('j')).toBeNull(); // the marker was written before the restart; nothing to rewrite
  });

  it('counts only stored lines, so a replayed line does not use the quota twice', async () => {
    const q = new JobLogQuota(async () => ({ lines: 0, bytes: 0 }), { maxLines: 2, maxBytes: 1000 });
    expect(await q.admit('j', 0, 'a')).toEqual({ kind: 'store' });
    q.stored('j', 'a');
    expect(await q.admit('j', 0, 'a')).toEqual({ kind: 'store' }); // replay: the store refuses the duplicate, stored() is not called
    expect(await q.admit('j', 1, 'b')).toEqual({ kind: 'store' });
    q.stored('j', 'b');
    expect(await q.admit('j', 2, 'c')).toMatchObject({ kind: 'marker', payload: 'log truncated after 2 lines (limit 2 lines per job); 1 later line was dropped' });
    expect(await q.admit('j', 3, 'd')).toEqual({ kind: 'drop' });
    expect(q.finish('j')).toEqual({ seq: 2, dropped: 2, payload: 'log truncated after 2 lines (limit 2 lines per job); 2 later lines were dropped' });
  });
});

describe('TokenBucket', () => {
  it('spends its burst, refuses when empty, and refills one token per interval up to the burst', () => {
    let t = 0;
    const b = new TokenBucket({ burst: 2, perSecond: 10 }, () => t);
    expect([b.take(), b.take(), b.take()]).toEqual([true, true, false]);
    t += 100;
    expect([b.take(), b.take()]).toEqual([true, false]);
    t += 10_000;
    expect(b.full()).toBe(true);
  });

  it('says how long until n tokens are there (at most the burst)', () => {
    let t = 0;
    const b = new TokenBucket({ burst: 4, perSecond: 2 }, () => t);
    for (let i = 0; i < 4; i++) b.take();
    expect(b.waitMs()).toBe(500);
    expect(b.waitMs(10)).toBe(2000);
    t += 500;
    expect(b.waitMs()).toBe(0);
  });
});
