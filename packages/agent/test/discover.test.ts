import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPostgres, startPostgres, tempDir } from '@restic-manager/testkit';
import type { DbServer, TempDir } from '@restic-manager/testkit';
import { discoverContainers, socketGet } from '../src/dumps/docker.js';
import { discoverDatabases } from '../src/dumps/discover.js';
import { startDockerFixture } from './fixtures/docker-server.js';
import { MARIA_ID, MARIA_PASSWORD, MYSQL_ID, MYSQL_ROOT_PASSWORD, PG_ID, PG_PASSWORD } from './fixtures/docker-api.js';

/* Discovery against a loopback unix-socket HTTP server replaying the Docker API fixture. */
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** Runs the agent CLI without blocking this process (which serves the fake Docker socket). */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [MAIN, ...args]);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('database discovery', () => {
  let tmp: TempDir;
  let sock: string;
  let docker: Awaited<ReturnType<typeof startDockerFixture>>;
  beforeAll(async () => {
    tmp = await tempDir('rm-discover-');
    sock = path.join(tmp.path, 'docker.sock');
    docker = await startDockerFixture(sock);
  });
  afterAll(async () => {
    await docker?.close();
    await tmp.cleanup();
  });

  it('finds the postgres, mariadb and mysql containers with user, database and the password variable name', async () => {
    const r = await discoverContainers(socketGet(sock));
    expect(r).toEqual({
      ok: true,
      databases: [
        { engine: 'postgres', container: 'shop-db-1', container_id: PG_ID, image: 'postgres:16-alpine', user: 'shop', database: 'shop', password_env: 'POSTGRES_PASSWORD', published_port: 15432 },
        { engine: 'mariadb', container: 'wiki-mariadb', container_id: MARIA_ID, image: 'mariadb:11.4', user: 'wiki', database: 'wiki', password_env: 'MARIADB_PASSWORD', published_port: null },
        { engine: 'mysql', container: 'legacy-mysql', container_id: MYSQL_ID, image: 'mysql:8.0', user: 'root', database: null, password_env: 'MYSQL_ROOT_PASSWORD', published_port: 13306 },
      ],
      // The fixture's Mounts carry no Source (a host path), so none is offered; the live test
      // (docker-live.test.ts) checks volumes against a real engine.
      volumes: [],
    });
    // nginx is never inspected: only database images are.
    expect(docker.requests.filter((q) => q.includes('/json')).length).toBe(4);
  });

  it('reports a missing or broken Docker socket as docker_error, not a crash', async () => {
    const none = await discoverDatabases({ dockerSocket: path.join(tmp.path, 'absent.sock'), pgSocketDirs: [], mysqlSockets: [], pgPorts: [], mysqlPorts: [] });
    expect(none).toEqual({ local: [], containers: [], volumes: [], docker_error: `${path.join(tmp.path, 'absent.sock')} does not exist (no Docker engine here)` });
    const bad = await discoverDatabases({ dockerGet: async () => ({ ok: true, status: 500, body: { message: 'boom' } }), pgSocketDirs: [], mysqlSockets: [], pgPorts: [], mysqlPorts: [] });
    expect(bad.docker_error).toBe('GET /containers/json: status 500');
  });

  it('a socket path that exists but cannot be used (not a socket, like one it may not read) is one line naming it', async () => {
    const file = path.join(tmp.path, 'not-a-socket.sock');
    fs.writeFileSync(file, '');
    const r = await discoverDatabases({ dockerSocket: file, pgSocketDirs: [], mysqlSockets: [], pgPorts: [], mysqlPorts: [] });
    expect(r).toMatchObject({ containers: [], volumes: [] });
    expect(r.docker_error, r.docker_error ?? '').toMatch(/^\S+: connect E[A-Z]+ /);
    expect(r.docker_error?.startsWith(`${file}: connect `)).toBe(true);
    expect(r.docker_error).not.toContain('\n');
  });

  it('discover-databases --json prints the containers and never a password value', async () => {
    const r = await cli(['discover-databases', '--json', '--docker-socket', sock]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { containers: { container: string }[]; docker_error: string | null };
    expect(out.docker_error).toBeNull();
    expect(out.containers.map((c) => c.container)).toEqual(['shop-db-1', 'wiki-mariadb', 'legacy-mysql']);
    for (const p of [PG_PASSWORD, MARIA_PASSWORD, MYSQL_ROOT_PASSWORD]) expect(r.stdout).not.toContain(p);
    const text = await cli(['discover-databases', '--docker-socket', sock]);
    expect(text.stdout).toContain('container  postgres  shop-db-1 (postgres:16-alpine): user shop, database shop, password in $POSTGRES_PASSWORD');
  });

  it('discover-databases --help explains itself and exits 0', () => {
    const r = spawnSync(process.execPath, [MAIN, 'discover-databases', '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: restic-manager-agent discover-databases [--json]');
  });

  const pg = findPostgres();
  describe.skipIf(!pg.ok)('a local PostgreSQL', () => {
    let db: DbServer;
    beforeAll(async () => {
      db = await startPostgres();
    }, 120_000);
    afterAll(async () => db?.stop());
    it('is found by its unix socket (and not listed twice for its TCP port)', async () => {
      const d = await discoverDatabases({ pgSocketDirs: [db.socketDir], pgPorts: [db.port], mysqlSockets: [], mysqlPorts: [], dockerSocket: path.join(tmp.path, 'absent.sock') });
      expect(d.local).toEqual([{ engine: 'postgres', via: path.join(db.socketDir, `.s.PGSQL.${db.port}`), host: db.socketDir, port: db.port }]);
    });
    it('is found on its TCP port when there is no socket', async () => {
      const d = await discoverDatabases({ pgSocketDirs: [], pgPorts: [db.port], mysqlSockets: [], mysqlPorts: [], dockerSocket: path.join(tmp.path, 'absent.sock') });
      expect(d.local).toEqual([{ engine: 'postgres', via: `127.0.0.1:${db.port}`, host: '127.0.0.1', port: db.port }]);
    });
  });
});
