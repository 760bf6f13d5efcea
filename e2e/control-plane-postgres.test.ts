import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '@restic-manager/server';
import { findPostgres, requireTool, startPostgres, tempDir } from '@restic-manager/testkit';
import type { DbServer, TempDir } from '@restic-manager/testkit';
import { ADMIN_PASSWORD, Api, ROOT, runCollect } from './agent-harness.js';

/*
 * The control-plane backup of a PostgreSQL store (docs/operations.md): `server backup` takes a
 * pg_dump of RM_DATABASE_URL (password only in PGPASSWORD), `server restore` pg_restores it into
 * another database, and a server on that database and the restored key has the same hosts and
 * opens their credentials.
 */

const CLI = path.join(ROOT, 'packages/cli/dist/main.js');
const pg = findPostgres();
const missing = [...(pg.ok ? [] : [pg.reason]), ...['restic', 'pg_dump', 'pg_restore'].filter((t) => !requireTool(t).ok)];
if (missing.length) console.warn(`skipping control-plane PostgreSQL e2e: ${missing.join('; ')}`);

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return runCollect(process.execPath, [CLI, ...args], { env });
}

describe.skipIf(missing.length > 0)('control plane on PostgreSQL: pg_dump into restic, pg_restore into a new database', () => {
  let t: TempDir;
  let db: DbServer;
  const log = new PassThrough();
  log.resume();
  const url = (name: string): string => `postgres://${db.user}:${encodeURIComponent(db.password)}@127.0.0.1:${db.port}/${name}`;
  beforeAll(async () => {
    t = await tempDir('rm-cp-pg-');
    db = await startPostgres('cp-pg-secret-0d7e');
    db.sql('CREATE DATABASE rm_a');
    db.sql('CREATE DATABASE rm_b');
    fs.writeFileSync(path.join(t.path, 'cp-password'), 'cp-pg-restic-password\n', { mode: 0o600 });
  });
  afterAll(async () => {
    await db?.stop();
    await t?.cleanup();
  });

  it('a server on the restored database has the host and the repository, whose password the restored key opens; the database password is never printed', async () => {
    const dataA = path.join(t.path, 'a');
    const server = await startServer({ listen: '127.0.0.1:0', dataDir: dataA, databaseUrl: url('rm_a'), cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'warn' }, { logStream: log, mountWeb: null });
    let hostId: string;
    try {
      const api = new Api(server.url);
      await api.login();
      const add = await api.req('POST', '/api/hosts', { name: 'pg-host', repository: { url: path.join(t.path, 'repo'), password: 'pg-host-repo-password-77', append_only: false } });
      expect(add.status, JSON.stringify(add.body)).toBe(201);
      hostId = add.body.host_id as string;
      // The host's own repository is stored at enrollment; a repository object is stored now.
      const repo = await api.req('POST', '/api/repositories', { name: 'nas-copy', url: 'rest:https://nas.example.net:8000/web/', password: 'pg-repo-object-password-19' });
      expect(repo.status, JSON.stringify(repo.body)).toBe(201);
      const cpEnv = { RESTIC_REPOSITORY: path.join(t.path, 'cp-repo'), RESTIC_PASSWORD_FILE: path.join(t.path, 'cp-password') };
      const b = await runCli(['server', 'backup', '--init', '--json'], { ...cpEnv, RM_DATA_DIR: dataA, RM_DATABASE_URL: url('rm_a') });
      expect(b.code, b.err).toBe(0);
      expect(JSON.parse(b.out)).toMatchObject({ store: 'postgres', includes_key: true });
      expect(b.out + b.err).not.toContain(db.password);

      const dataB = path.join(t.path, 'b');
      const r = await runCli(['server', 'restore', '--data-dir', dataB, '--json'], { ...cpEnv, RM_DATABASE_URL: url('rm_b') });
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ store: 'postgres', repositories: 1 });
      expect(r.out + r.err).not.toContain(db.password);
      const intoSqlite = await runCli(['server', 'restore', '--data-dir', path.join(t.path, 'c')], cpEnv);
      expect(intoSqlite.code).toBe(2);
      expect(intoSqlite.err).toContain('holds a PostgreSQL dump: set RM_DATABASE_URL');
    } finally {
      await server.close();
    }
    const restored = await startServer({ listen: '127.0.0.1:0', dataDir: path.join(t.path, 'b'), databaseUrl: url('rm_b'), cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'warn' }, { logStream: log, mountWeb: null });
    try {
      const api = new Api(restored.url);
      await api.login();
      expect((await api.req('GET', `/api/hosts/${hostId}`)).body.name).toBe('pg-host');
      expect(JSON.stringify((await api.req('GET', '/api/repositories')).body)).toContain('nas-copy');
    } finally {
      await restored.close();
    }
  });
});
