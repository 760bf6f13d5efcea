import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { migrate, openStore } from '../src/store/db.js';
import { MIGRATIONS } from '../src/migrations/index.js';
import { SecretBox, loadOrCreateKey } from '../src/crypto/secret-box.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'rm-store-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('store migrations', () => {
  it('upgrades a database created by migration 1 in place, keeping its data', async () => {
    const file = path.join(tmp(), 'db.sqlite');
    const s1 = openStore(file);
    expect(await migrate(s1.db, '0001_initial')).toEqual(['0001_initial']);
    const t = '2026-01-01T00:00:00.000Z';
    await sql`INSERT INTO hosts (id, name, status, tags, created_at) VALUES ('h1', 'old-host', 'offline', '["a"]', ${t})`.execute(s1.db);
    await sql`INSERT INTO jobs (id, host_id, kind, status, actor_kind, created_at, started_at) VALUES ('j1', 'h1', 'backup', 'running', 'user', ${t}, ${t})`.execute(s1.db);
    await s1.close();

    const s2 = openStore(file);
    expect(await migrate(s2.db)).toEqual(Object.keys(MIGRATIONS).filter((n) => n > '0001_initial'));
    const host = await s2.db.selectFrom('hosts').selectAll().where('id', '=', 'h1').executeTakeFirstOrThrow();
    expect(host).toMatchObject({ name: 'old-host', tags: '["a"]', schedule_version: 0 });
    const job = await s2.db.selectFrom('jobs').selectAll().where('id', '=', 'j1').executeTakeFirstOrThrow();
    expect(job).toMatchObject({ status: 'running', dispatched_at: t });
    await s2.db.insertInto('job_events').values({ job_id: 'j1', seq: 0, type: 'job.started' }).execute();
    expect(await migrate(s2.db)).toEqual([]);
    expect(s2.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    await s2.close();
  });

  it('migration 0013 fills the last vault backup from the vault_backup jobs already stored', async () => {
    const s = openStore(path.join(tmp(), 'db.sqlite'));
    await migrate(s.db, '0012_trends');
    const job = (id: string, host: string, kind: string, status: string, at: string | null) =>
      sql`INSERT INTO jobs (id, host_id, kind, status, actor_kind, created_at, finished_at) VALUES (${id}, ${host}, ${kind}, ${status}, 'user', '2026-01-01T00:00:00.000Z', ${at})`.execute(s.db);
    for (const id of ['v1', 'v2', 'r1']) await sql`INSERT INTO hosts (id, name, status, tags, created_at) VALUES (${id}, ${id}, 'offline', '[]', '2026-01-01T00:00:00.000Z')`.execute(s.db);
    await job('a', 'v1', 'vault_backup', 'succeeded', '2026-01-02T00:00:00.000Z');
    await job('b', 'v1', 'vault_backup', 'failed', '2026-01-03T00:00:00.000Z');
    await job('c', 'v1', 'vault_backup', 'running', null);
    await job('d', 'v1', 'backup', 'succeeded', '2026-01-04T00:00:00.000Z');
    await job('e', 'v2', 'vault_backup', 'succeeded', '2026-01-05T00:00:00.000Z');
    await job('f', 'r1', 'backup', 'succeeded', '2026-01-06T00:00:00.000Z');
    expect(await migrate(s.db, '0013_vault_projections')).toEqual(['0013_vault_projections']);
    const rows = await s.db.selectFrom('hosts').select(['id', 'last_vault_backup_at', 'last_vault_backup_status', 'last_backup_at']).orderBy('id').execute();
    expect(rows).toEqual([
      { id: 'r1', last_vault_backup_at: null, last_vault_backup_status: null, last_backup_at: null },
      { id: 'v1', last_vault_backup_at: '2026-01-03T00:00:00.000Z', last_vault_backup_status: 'failed', last_backup_at: null },
      { id: 'v2', last_vault_backup_at: '2026-01-05T00:00:00.000Z', last_vault_backup_status: 'succeeded', last_backup_at: null },
    ]);
    await s.close();
  });
});

// Group commit and the repositories run against SQLite and PostgreSQL in store-contract.test.ts.

describe('secret box and key file', () => {
  it('creates the key file with mode 0600 and reloads the same key', () => {
    const file = path.join(tmp(), 'k', 'secret.key');
    const a = loadOrCreateKey(file);
    expect(a.created).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const b = loadOrCreateKey(file);
    expect(b.created).toBe(false);
    expect(b.key.equals(a.key)).toBe(true);
  });

  it('refuses a group-readable or malformed key file', () => {
    const file = path.join(tmp(), 'secret.key');
    writeFileSync(file, 'ab'.repeat(32), { mode: 0o644 });
    chmodSync(file, 0o644);
    expect(() => loadOrCreateKey(file)).toThrow(/mode 644; run chmod 600/);
    chmodSync(file, 0o600);
    writeFileSync(file, 'short');
    expect(() => loadOrCreateKey(file)).toThrow(/64 hex characters/);
  });

  it('seals with AES-256-GCM: round-trips, and fails closed on tampering, a wrong key or the wrong purpose', () => {
    const box = new SecretBox(Buffer.alloc(32, 7));
    const sealed = box.seal('hunter2', 'credential:1');
    expect(sealed).not.toContain('hunter2');
    expect(box.open(sealed, 'credential:1')).toBe('hunter2');
    expect(box.seal('hunter2', 'credential:1')).not.toBe(sealed);
    expect(() => box.open(sealed, 'credential:2')).toThrow('secret cannot be decrypted');
    expect(() => new SecretBox(Buffer.alloc(32, 8)).open(sealed, 'credential:1')).toThrow('secret cannot be decrypted');
    const raw = Buffer.from(sealed, 'base64url');
    raw[20] = (raw[20] ?? 0) ^ 1;
    expect(() => box.open(raw.toString('base64url'), 'credential:1')).toThrow('secret cannot be decrypted');
  });
});
