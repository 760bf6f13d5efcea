import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import type { Connection } from '@restic-manager/engines';
import { DatabaseTarget, DbRestoreArgs } from '@restic-manager/protocol';
import { findDocker, MARIADB_IMAGE, requireTool, runMariadbContainer } from '@restic-manager/testkit';
import { discoverDatabases } from '../src/dumps/discover.js';
import { runDumps } from '../src/dumps/run-dumps.js';
import { backupWithDumps } from '../src/dumps/backup-job.js';
import { runDbRestore } from '../src/dumps/restore-job.js';
import { useDockerBench } from './helpers/docker-bench.js';

/*
 * MariaDB in a container, live: the private engine of the test kit, a MariaDB image imported
 * from an offline-built Debian root, `docker exec mariadb-dump` into restic with the password from
 * the container's MARIADB_PASSWORD, and `docker exec mariadb` restoring under another name.
 */
const restic = requireTool('restic');
const docker = findDocker();
if (!restic.ok || !docker.ok) console.warn(`skipping live MariaDB container tests: ${restic.ok ? (docker.ok ? '' : docker.reason) : restic.reason}`);

const REPO_PW = 'docker-maria-repo-pw-8c1e';
const PW = 'wiki-maria-secret-2a7c';
const engine = createEngine('restic');

describe.skipIf(!restic.ok || !docker.ok)('Docker, live: a MariaDB container', () => {
  let conn: Connection;
  const b = useDockerBench({
    prefix: 'rm-docker-maria-', image: 'mariadb', what: 'live MariaDB container tests',
    setup: async (dk, tmp) => {
      conn = { repository: path.join(tmp.path, 'repo'), password: REPO_PW };
      expect((await engine.init(conn)).ok).toBe(true);
      await runMariadbContainer(dk, 'wiki-db', { MARIADB_USER: 'wiki', MARIADB_PASSWORD: PW, MARIADB_DATABASE: 'wiki' });
      sql("CREATE TABLE pages (id INT PRIMARY KEY, title VARCHAR(100)); INSERT INTO pages SELECT seq, CONCAT('page-', seq) FROM seq_1_to_500;");
    },
  });
  const sql = (q: string, db = 'wiki'): string => {
    const r = spawnSync('docker', ['-H', b.dk!.host, 'exec', '-e', 'MYSQL_PWD', 'wiki-db', 'mariadb', '-uwiki', '-N', '-B', db, '-e', q], { encoding: 'utf8', env: { ...process.env, MYSQL_PWD: PW } });
    if (r.status !== 0) throw new Error(`mariadb in wiki-db: ${r.stderr}`);
    return r.stdout.trim();
  };

  it('discovery finds the container with its user, database and password variable', async (ctx) => {
    b.ready(ctx);
    const d = await discoverDatabases({ dockerSocket: b.dk!.socket, pgPorts: [], mysqlPorts: [], pgSocketDirs: [], mysqlSockets: [] });
    expect(d.containers).toEqual([expect.objectContaining({ engine: 'mariadb', container: 'wiki-db', image: MARIADB_IMAGE, user: 'wiki', database: 'wiki', password_env: 'MARIADB_PASSWORD' })]);
  }, 60_000);

  it('docker exec mariadb-dump (password from the container env) into restic, restored through docker exec mariadb under another name', async (ctx) => {
    b.ready(ctx);
    const prev = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = b.dk!.host;
    try {
      const t = DatabaseTarget.parse({ engine: 'mariadb', container: 'wiki-db', user: 'wiki', password_env: 'MARIADB_PASSWORD', database: 'wiki' });
      const lines: string[] = [];
      const res = await runDumps(engine, conn, [t], { tags: [], opts: {}, line: (_s, x) => lines.push(x) });
      expect(res, lines.join('\n')).toMatchObject([{ ok: true, engine: 'mariadb', database: 'wiki' }]);
      expect(lines.join('\n')).not.toContain(PW);
      const id = res[0]?.ok ? res[0].snapshotId : '-';
      const args = DbRestoreArgs.parse({ snapshot_id: id, file: '/mariadb/wiki.sql', connection: { engine: 'mariadb', container: 'wiki-db', user: 'wiki', password_env: 'MARIADB_PASSWORD' }, database: 'wiki_copy' });
      const out = await runDbRestore(engine, conn, args, { onLine: (l) => lines.push(l.line) });
      expect(out, lines.join('\n')).toMatchObject({ status: 'succeeded' });
      expect(sql('SELECT COUNT(*), MAX(title) FROM pages', 'wiki_copy')).toBe('500\tpage-99');

      const bad = await backupWithDumps(engine, conn, { paths: [], excludes: [], tags: [], databases: [DatabaseTarget.parse({ engine: 'mariadb', container: 'wiki-db', user: 'wiki', password: 'wrong-pw-31', database: 'wiki' })] }, {});
      expect(bad.outcome.error).toMatch(/^mariadb database wiki in container wiki-db: mariadb-dump failed: .*Access denied for user 'wiki'@'localhost'/);
    } finally {
      if (prev === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = prev;
    }
  }, 180_000);
});
