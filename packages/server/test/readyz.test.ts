import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../src/migrations/index.js';
import { useHarness } from './helpers/harness.js';

/* Issue 17: GET /readyz for load balancers — 200 when the database answers and migrations are current. */
describe('GET /readyz', () => {
  const h = useHarness();

  it('is ready with a current schema, 503 naming the reason while a migration is missing; /healthz stays 200', async () => {
    const ok = await fetch(`${h.url}/readyz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });
    const last = Object.keys(MIGRATIONS).sort().at(-1)!;
    const row = await sql<{ name: string; timestamp: string }>`SELECT name, timestamp FROM kysely_migration WHERE name = ${last}`.execute(h.server.db);
    await sql`DELETE FROM kysely_migration WHERE name = ${last}`.execute(h.server.db);
    try {
      const r = await fetch(`${h.url}/readyz`);
      expect(r.status).toBe(503);
      expect(await r.json()).toEqual({ ok: false, reason: `1 migration(s) not applied yet (${last}…)` });
      expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    } finally {
      await sql`INSERT INTO kysely_migration (name, timestamp) VALUES (${last}, ${row.rows[0]!.timestamp})`.execute(h.server.db);
    }
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
  });
});
