/**
 * Issue 13 finding 4: the sign-in throttle reserves each attempt in the store before the
 * password is checked, on SQLite and PostgreSQL, per (account, address) and per account.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginAttemptRepository } from '../src/repositories/login-attempt.repository.js';
import { LoginThrottle } from '../src/services/login-throttle.js';
import { ADMIN_PASSWORD, useHarness } from './helpers/harness.js';
import { storeEngines } from './helpers/stores.js';
import type { TestStore } from './helpers/stores.js';

const engines = storeEngines();
afterAll(async () => {
  for (const e of engines) await e.stop();
});

describe.each(engines)('login throttle in the store: $name', (engine) => {
  let s: TestStore;
  let clock = Date.parse('2026-12-01T00:00:00Z');
  const throttle = () => new LoginThrottle(new LoginAttemptRepository(s.db), () => clock);
  beforeAll(async () => {
    if (engine.skip === null) s = await engine.open();
  }, 120_000);
  afterAll(async () => s?.close());

  it.skipIf(engine.skip !== null)('40 concurrent attempts for one account and address: exactly 5 are let through', async () => {
    const t = throttle();
    const results = await Promise.all(Array.from({ length: 40 }, () => t.reserve('Victim', '203.0.113.7')));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.retryAfterMs > 0 && r.retryAfterMs <= 1000)).toBe(true);
    // A second replica (another throttle over the same store) sees the same counters.
    expect(await throttle().reserve('victim', '203.0.113.7')).toMatchObject({ ok: false });
  });

  it.skipIf(engine.skip !== null)('40 concurrent attempts from 40 addresses: the per-account limit lets 20 through', async () => {
    const t = throttle();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => t.reserve('spread', `198.51.100.${i}`)));
    expect(results.filter((r) => r.ok)).toHaveLength(20);
    expect(await t.retryAfterMs('spread', '192.0.2.1')).toBeGreaterThan(0);
  });

  it.skipIf(engine.skip !== null)('an address that signed in before is not slowed by guesses from elsewhere, and nothing is locked beyond the cap', async () => {
    const t = throttle();
    await t.succeed('owner', '192.0.2.10');
    await Promise.all(Array.from({ length: 60 }, (_, i) => t.reserve('owner', `198.51.100.${i % 30}`)));
    expect(await t.retryAfterMs('owner', '192.0.2.99')).toBeGreaterThan(0);
    expect(await t.reserve('owner', '192.0.2.10')).toEqual({ ok: true });
    clock += 61_000;
    expect(await t.reserve('owner', '192.0.2.99')).toEqual({ ok: true });
    await t.succeed('owner', '192.0.2.99');
    expect(await t.retryAfterMs('owner', '192.0.2.50')).toBe(0);
  });

  it.skipIf(engine.skip !== null)('the delay doubles after the free attempts, and an idle counter is forgotten', async () => {
    const t = throttle();
    for (let i = 0; i < 5; i++) expect((await t.reserve('slow', '192.0.2.1')).ok).toBe(true);
    expect(await t.retryAfterMs('slow', '192.0.2.1')).toBe(1000);
    clock += 1000;
    expect((await t.reserve('slow', '192.0.2.1')).ok).toBe(true);
    expect(await t.retryAfterMs('slow', '192.0.2.1')).toBe(2000);
    clock += 25 * 3_600_000;
    await t.purge();
    expect(await t.retryAfterMs('slow', '192.0.2.1')).toBe(0);
    for (let i = 0; i < 5; i++) expect((await t.reserve('slow', '192.0.2.1')).ok).toBe(true);
  });
});

describe('login API under 40 parallel wrong passwords', () => {
  const h = useHarness({}, { mountWeb: undefined });

  it('evaluates at most 5 and answers the rest 429 with Retry-After', async () => {
    const attempt = () => fetch(`${h.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'wrong-password' }) });
    const answers = await Promise.all(Array.from({ length: 40 }, attempt));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((x) => x === 401).length, statuses.join(',')).toBeLessThanOrEqual(5);
    expect(statuses.filter((x) => x === 429).length).toBeGreaterThanOrEqual(35);
    for (const r of answers.filter((x) => x.status === 429)) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const rows = await h.server.db.selectFrom('login_attempts').selectAll().where('scope', '=', 'pair').execute();
    expect(rows).toEqual([expect.objectContaining({ username: 'admin', attempts: 5 })]);
  });

  it('the web sign-in form answers 429 with Retry-After too', async () => {
    const r = await fetch(`${h.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username: 'admin', password: ADMIN_PASSWORD }).toString() });
    expect(r.status).toBe(429);
    expect(await r.text()).toContain('Too many failed sign-ins');
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});
