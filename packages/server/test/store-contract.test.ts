/**
 * Store and repository contract: the same tests against SQLite and PostgreSQL (server decision 7).
 * PostgreSQL skips, saying why, when its binaries are missing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRepositories, inTransaction } from '../src/repositories/index.js';
import { TrendRepository } from '../src/repositories/trend.repository.js';
import { storeEngines } from './helpers/stores.js';
import type { TestStore } from './helpers/stores.js';

const engines = storeEngines();
afterAll(async () => {
  for (const e of engines) await e.stop();
});

const t = '2026-01-01T00:00:00.000Z';
const user = (id: string, username = id) => ({ id, username, password_hash: 'x', role: 'viewer' as const, created_at: t, last_login_at: null });
const host = (id: string, name: string, tags: string[]) => ({ id, name, status: 'offline' as const, tags: JSON.stringify(tags), created_at: t });

describe.each(engines)('store contract: $name', (engine) => {
  const open = async (): Promise<TestStore> => engine.open();

  it.skipIf(engine.skip !== null)('group commit: units of one turn commit together, only the throwing unit rolls back', async () => {
    const s = await open();
    const inTx = inTransaction(s.db);
    const a = inTx(async (r) => {
      await r.users.insert(user('a'));
      return 'a-done';
    });
    const b = inTx(async (r) => {
      await r.users.insert(user('b'));
      throw new Error('unit b failed');
    });
    const c = inTx(async (r) => (await r.users.findById('a'))?.username);
    expect(await a).toBe('a-done');
    await expect(b).rejects.toThrow('unit b failed');
    expect(await c).toBe('a');
    expect((await createRepositories(s.db).users.list(10, 0)).map((u) => u.username)).toEqual(['a']);
    await s.close();
  }, 60_000);

  it.skipIf(engine.skip !== null)('heartbeat batches set last_seen_at; on PostgreSQL a row another transaction holds is skipped, never waited for', async () => {
    const s = await open();
    const r = createRepositories(s.db);
    for (const id of ['h1', 'h2', 'h3']) await r.hosts.insert(host(id, id, []));
    await r.hosts.touchMany(['h3', 'h1', 'h2'], '2026-02-01T00:00:00.000Z');
    for (const id of ['h1', 'h2', 'h3']) expect((await r.hosts.findById(id))?.last_seen_at).toBe('2026-02-01T00:00:00.000Z');
    if (engine.name === 'postgres') {
      await s.db.transaction().execute(async (trx) => {
        await trx.selectFrom('hosts').select('id').where('id', '=', 'h2').forUpdate().execute();
        // another connection's batch: it returns while h2 stays locked (waiting would hang until the test times out)
        await r.hosts.touchMany(['h1', 'h2', 'h3'], '2026-02-02T00:00:00.000Z');
      });
      expect((await r.hosts.findById('h1'))?.last_seen_at).toBe('2026-02-02T00:00:00.000Z');
      expect((await r.hosts.findById('h2'))?.last_seen_at).toBe('2026-02-01T00:00:00.000Z');
      expect((await r.hosts.findById('h3'))?.last_seen_at).toBe('2026-02-02T00:00:00.000Z');
    }
    await s.close();
  }, 60_000);

  it.skipIf(engine.skip !== null)('usernames are case-insensitive: unique, found and sorted regardless of case', async () => {
    const s = await open();
    const r = createRepositories(s.db);
    await r.users.insert(user('u1', 'bob'));
    await r.users.insert(user('u2', 'Alice'));
    await expect(r.users.insert(user('u3', 'BOB'))).rejects.toThrow();
    expect((await r.users.findByUsername('ALICE'))?.id).toBe('u2');
    expect((await r.users.list(10, 0)).map((u) => u.username)).toEqual(['Alice', 'bob']);
    expect(await r.users.count()).toBe(2);
    await s.close();
  }, 60_000);

  it.skipIf(engine.skip !== null)('host and snapshot filters look inside JSON arrays; counts and 64-bit sizes are numbers', async () => {
    const s = await open();
    const r = createRepositories(s.db);
    await r.hosts.insert(host('h1', 'web', ['prod', 'eu']));
    await r.hosts.insert(host('h2', 'db', ['staging']));
    await r.hosts.update('h1', { repo_size_bytes: 2 ** 40 });
    const prod = await r.hosts.list({ tag: 'prod' }, 10, 0);
    expect(prod).toMatchObject({ total: 1, rows: [{ id: 'h1', repo_size_bytes: 2 ** 40 }] });
    expect((await r.hosts.list({ tag: 'pro' }, 10, 0)).total).toBe(0);
    const totals = await r.hosts.totals();
    expect({ bytes: totals.bytes, hosts: totals.sizedHosts }).toEqual({ bytes: 2 ** 40, hosts: 1 });
    const snap = (id: string, time: string, paths: string[], tags: string[]) => ({ id, host_id: 'h1', repo_id: null, short_id: id.slice(0, 8), time, hostname: 'web', paths: JSON.stringify(paths), tags: JSON.stringify(tags), size_bytes: 5 * 2 ** 32, file_count: 3 });
    await r.snapshots.replaceForHost('h1', [snap('aaaa1111bbbb', t, ['/etc'], ['daily']), snap('cccc2222dddd', '2026-01-02T00:00:00.000Z', ['/etc', '/home'], [])]);
    expect(await r.snapshots.list('h1', { path: '/home' }, 10, 0)).toMatchObject({ total: 1, rows: [{ id: 'cccc2222dddd', size_bytes: 5 * 2 ** 32 }] });
    expect((await r.snapshots.list('h1', { tag: 'daily' }, 10, 0)).rows.map((x) => x.id)).toEqual(['aaaa1111bbbb']);
    expect((await r.snapshots.list('h1', {}, 10, 0)).rows.map((x) => x.id)).toEqual(['cccc2222dddd', 'aaaa1111bbbb']);
    // A listing read while the host's snapshots are replaced over and over: its page and its total
    // always come from one state (on PostgreSQL they were two statements apart: "1 in total", no rows).
    const other = [snap('eeee3333ffff', t, ['/srv'], [])];
    let replacing = true;
    const writer = (async () => {
      for (let i = 0; replacing; i++) await r.snapshots.replaceForHost('h1', i % 2 ? other : []);
    })();
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const l = await r.snapshots.list('h1', {}, 10, 0);
      seen.add(`${l.total}:${l.rows.length}`);
    }
    replacing = false;
    await writer;
    expect([...seen].filter((x) => x !== '0:0' && x !== '1:1')).toEqual([]);
    await s.close();
  }, 60_000);

  it.skipIf(engine.skip !== null)('every paged listing reads its page and its total from one state while rows come and go', async () => {
    const s = await open();
    const r = createRepositories(s.db);
    await r.hosts.insert(host('h1', 'web', []));
    // One row of each listing appears and disappears over and over; a listing sees it or not, never half.
    let churning = true;
    const churn = (async () => {
      for (let i = 0; churning; i++) {
        await s.db.insertInto('alerts').values({ id: `a${i}`, host_id: 'h1', kind: 'k', severity: 'warning', message: 'm', created_at: t, acknowledged_at: null, resolved_at: null }).execute();
        await s.db.insertInto('jobs').values({ id: `j${i}`, host_id: 'h1', kind: 'backup', status: 'queued', actor_kind: 'user', created_at: t }).execute();
        await s.db.insertInto('hosts').values(host(`x${i}`, `x${i}`, [])).execute();
        await s.db.deleteFrom('alerts').where('id', '=', `a${i}`).execute();
        await s.db.deleteFrom('jobs').where('id', '=', `j${i}`).execute();
        await s.db.deleteFrom('hosts').where('id', '=', `x${i}`).execute();
      }
    })();
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const [a, j, h] = await Promise.all([r.alerts.list({}, 10, 0), r.jobs.list({}, 'desc', 10, 0), r.hosts.list({}, 10, 0)]);
      for (const [name, l] of [['alerts', a], ['jobs', j], ['hosts', h]] as const) if (l.total !== l.rows.length) seen.add(`${name} ${l.total} in total, ${l.rows.length} rows`);
    }
    churning = false;
    await churn;
    expect([...seen]).toEqual([]);
    await s.close();
  }, 60_000);

  it.skipIf(engine.skip !== null)('job events and logs are claimed once', async () => {
    const s = await open();
    const r = createRepositories(s.db);
    await r.hosts.insert(host('h1', 'web', []));
    await r.jobs.insert({ id: 'j1', host_id: 'h1', kind: 'backup', status: 'queued', actor_kind: 'user', created_at: t });
    expect(await r.jobs.claimEvent('j1', 0, 'job.started')).toBe(true);
    expect(await r.jobs.claimEvent('j1', 0, 'job.started')).toBe(false);
    expect(await r.jobs.transition('j1', ['queued'], { status: 'running', started_at: t })).toBe(true);
    expect(await r.jobs.transition('j1', ['queued'], { status: 'running' })).toBe(false);
    await s.close();
  }, 60_000);

  it.skipIf(engine.skip !== null)('trend compaction folds raw points per day: sum adds, mean is weighted, others keep the last value', async () => {
    const s = await open();
    await createRepositories(s.db).hosts.insert(host('h1', 'web', []));
    const trends = new TrendRepository(s.db);
    const pt = (metric: string, ts: string, value: number) => ({ host_id: 'h1', metric, ts, value });
    await trends.insertRaw([
      pt('added', '2026-01-01T01:00:00.000Z', 10), pt('added', '2026-01-01T02:00:00.000Z', 5),
      pt('dur', '2026-01-01T01:00:00.000Z', 2), pt('dur', '2026-01-01T02:00:00.000Z', 4),
      pt('size', '2026-01-01T02:00:00.000Z', 200), pt('size', '2026-01-01T01:00:00.000Z', 100),
    ]);
    const rule = { sum: ['added'], mean: ['dur'] };
    expect(await trends.compact('2026-01-02T00:00:00.000Z', '2025-01-01T00:00:00.000Z', rule)).toEqual({ folded: 6, dropped: 0 });
    await trends.insertRaw([pt('added', '2026-01-01T03:00:00.000Z', 1), pt('dur', '2026-01-01T03:00:00.000Z', 6)]);
    await trends.compact('2026-01-02T00:00:00.000Z', '2025-01-01T00:00:00.000Z', rule);
    const rows = await trends.range('h1', ['added', 'dur', 'size'], '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z');
    const by = Object.fromEntries(rows.map((x) => [x.metric, x]));
    expect(by.added).toMatchObject({ value: 16, n: 3, daily: 1, ts: '2026-01-01T00:00:00.000Z' });
    expect(by.dur).toMatchObject({ value: 4, n: 3 });
    expect(by.size).toMatchObject({ value: 200, n: 2 });
    await s.close();
  }, 60_000);
});
