import { describe, expect, it } from 'vitest';
import type { SlotRow } from '../src/repositories/slot.repository.js';
import { aheadIn, limitsOf, planGrants } from '../src/services/slot-plan.js';

/* The queue arithmetic of concurrency caps (issue 21): who is granted, and how far back each waiting job is. */

let ticket = 0;
const row = (job: string, keys: string[], state: 'waiting' | 'holding' = 'waiting', host = `h-${job}`): SlotRow => ({
  job_id: job, host_id: host, ticket: ++ticket, cap_keys: JSON.stringify(keys), state, origin: 'server',
  enqueued_at: '2026-01-01T00:00:00.000Z', granted_at: null, lease_expires_at: null,
});
const all = () => true;
const ids = (rows: SlotRow[]) => rows.map((r) => r.job_id);

describe('planGrants', () => {
  it('grants in queue order up to each cap', () => {
    const limits = limitsOf([{ scope: 'fleet', cap_key: '', max_jobs: 2 }]);
    expect(ids(planGrants([row('a', ['fleet']), row('b', ['fleet']), row('c', ['fleet'])], limits, all))).toEqual(['a', 'b']);
    expect(ids(planGrants([row('x', ['fleet'], 'holding'), row('a', ['fleet']), row('b', ['fleet'])], limits, all))).toEqual(['a']);
  });

  it('a job needs room in every cap it falls under', () => {
    const limits = limitsOf([{ scope: 'fleet', cap_key: '', max_jobs: 5 }, { scope: 'backend', cap_key: 's3:e/b', max_jobs: 1 }]);
    const rows = [row('run', ['fleet', 'backend:s3:e/b'], 'holding'), row('same-bucket', ['fleet', 'backend:s3:e/b']), row('other', ['fleet', 'backend:rest:r:8000'])];
    expect(ids(planGrants(rows, limits, all))).toEqual(['other']);
  });

  it('first come, first served per full cap: a later job never passes an earlier one waiting for the same full cap', () => {
    const limits = limitsOf([{ scope: 'fleet', cap_key: '', max_jobs: 3 }, { scope: 'tag', cap_key: 'db', max_jobs: 1 }]);
    const rows = [row('db-run', ['fleet', 'tag:db'], 'holding'), row('db-next', ['fleet', 'tag:db']), row('db-later', ['fleet', 'tag:db']), row('web', ['fleet'])];
    // db-next waits for the db cap and db-later behind it; web takes a free fleet slot db-next could not use.
    expect(ids(planGrants(rows, limits, all))).toEqual(['web']);
    // Once db frees, db-next (first in line) gets it, not db-later.
    expect(ids(planGrants(rows.filter((r) => r.job_id !== 'db-run'), limits, all))).toEqual(['db-next', 'web']);
  });

  it('a job blocked by a full cap stays ahead of later jobs in its other caps once they fill up', () => {
    const limits = limitsOf([{ scope: 'fleet', cap_key: '', max_jobs: 1 }, { scope: 'tag', cap_key: 'db', max_jobs: 1 }]);
    const rows = [row('f-run', ['fleet'], 'holding'), row('db', ['fleet', 'tag:db']), row('web', ['fleet'])];
    expect(ids(planGrants(rows, limits, all))).toEqual([]);
    expect(ids(planGrants(rows.filter((r) => r.job_id !== 'f-run'), limits, all))).toEqual(['db']);
  });

  it('skips a job whose agent is offline without holding back the jobs behind it', () => {
    const limits = limitsOf([{ scope: 'fleet', cap_key: '', max_jobs: 1 }]);
    expect(ids(planGrants([row('off', ['fleet'], 'waiting', 'gone'), row('on', ['fleet'])], limits, (r) => r.host_id !== 'gone'))).toEqual(['on']);
  });

  it('grants a job under no existing cap', () => {
    expect(ids(planGrants([row('free', ['fleet', 'tag:x'])], limitsOf([{ scope: 'tag', cap_key: 'y', max_jobs: 1 }]), all))).toEqual(['free']);
  });

  it('ignores unreadable cap_keys (no cap applies)', () => {
    const r = { ...row('bad', []), cap_keys: '{not json' };
    expect(ids(planGrants([r], limitsOf([{ scope: 'fleet', cap_key: '', max_jobs: 1 }]), all))).toEqual(['bad']);
  });
});

describe('aheadIn', () => {
  it('counts the slot releases before each waiting job', () => {
    const rows = [row('r1', ['fleet'], 'holding'), row('r2', ['fleet'], 'holding'), row('w1', ['fleet']), row('w2', ['fleet']), row('w3', ['fleet'])];
    expect(Object.fromEntries(aheadIn(rows, 'fleet', 2))).toEqual({ w1: 1, w2: 2, w3: 3 });
    expect(Object.fromEntries(aheadIn(rows, 'fleet', 1))).toEqual({ w1: 2, w2: 3, w3: 4 });
  });

  it('is 0 for a job held back by another cap while this one has room', () => {
    expect(Object.fromEntries(aheadIn([row('w', ['fleet', 'tag:db'])], 'fleet', 3))).toEqual({ w: 0 });
  });
});
