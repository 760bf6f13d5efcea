/**
 * Throwaway PostgreSQL and MariaDB servers for tests: a fresh data directory under the temp dir,
 * a loopback port and a private socket directory, stopped and removed by `stop()`. Nothing is
 * installed here: when a server binary is missing, `findPostgres`/`findMariadb` say why, and the
 * test skips with that reason. Under root, PostgreSQL runs as the `postgres` (or `nobody`) user
 * because it refuses to run as root.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './temp.js';
import { requireTool } from './tools.js';

export interface DbServer {
  engine: 'postgres' | 'mariadb';
  port: number;
  socketDir: string;
  /** A superuser with a password (TCP on 127.0.0.1). */
  user: string;
  password: string;
  /** Runs SQL as that user through the command-line client; throws on failure. */
  sql(query: string, database?: string): string;
  stop(): Promise<void>;
}

export type Found = { ok: true; bin: (name: string) => string } | { ok: false; reason: string };

/** The PostgreSQL server binaries (Debian keeps them in /usr/lib/postgresql/<v>/bin). */
export function findPostgres(): Found {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a)) : [];
  const dir = versions[0] ? path.join(root, versions[0], 'bin') : null;
  if (!dir) {
    const onPath = requireTool('postgres');
    if (!onPath.ok) return { ok: false, reason: 'PostgreSQL server is not installed (apt-get install postgresql)' };
    return { ok: true, bin: (n) => path.join(path.dirname(onPath.path), n) };
  }
  if (!requireTool('psql').ok) return { ok: false, reason: "'psql' is not on PATH (apt-get install postgresql-client)" };
  return { ok: true, bin: (n) => (n === 'psql' ? 'psql' : path.join(dir, n)) };
}

export function findMariadb(): Found {
  for (const t of ['mariadbd', 'mariadb-install-db', 'mariadb']) {
    const r = requireTool(t);
    if (!r.ok) return { ok: false, reason: `${r.reason} (apt-get install mariadb-server mariadb-client)` };
  }
  return { ok: true, bin: (n) => n };
}

function runAsUser(): { uid: number; gid: number; name: string } | null {
  if (process.getuid?.() !== 0) return null;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'));
  const u = passwd.find((f) => f[0] === 'postgres') ?? passwd.find((f) => f[0] === 'nobody');
  if (!u) throw new Error('running as root and no postgres/nobody user to run PostgreSQL as');
  return { uid: Number(u[2]), gid: Number(u[3]), name: u[0]! };
}

async function waitFor(check: () => boolean, what: string, child: ChildProcess, log: () => string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`${what}: the server exited (${child.exitCode}): ${log().slice(-2000)}`);
    if (check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not ready after ${ms} ms: ${log().slice(-2000)}`);
}

function stopper(child: ChildProcess, dir: string, signal: NodeJS.Signals): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((r) => {
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => {
          clearTimeout(t);
          r();
        });
        child.kill(signal);
      });
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}

/**
 * Starts PostgreSQL (`initdb` + `postgres`) with scram-sha-256 auth for user `postgres` over TCP;
 * on the unix socket too, unless `localPeer` (then the socket uses peer authentication, like a
 * Debian install). `osUser` is the OS user the server runs as (null: this process's user).
 */
export async function startPostgres(password = 'pg-test-secret-7f3a', opts: { localPeer?: boolean; maxConnections?: number } = {}): Promise<DbServer & { osUser: string | null }> {
  const found = findPostgres();
  if (!found.ok) throw new Error(found.reason);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rm-pg-'));
  chmodSync(dir, 0o755);
  const as = runAsUser();
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  mkdirSync(data, { mode: 0o700 });
  mkdirSync(sock, { mode: 0o700 });
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, password, { mode: 0o600 });
  if (as) for (const p of [data, sock, pwfile]) chownSync(p, as.uid, as.gid);
  const ids = as ? { uid: as.uid, gid: as.gid } : {};
  const auth = opts.localPeer ? ['--auth-host=scram-sha-256', '--auth-local=peer'] : ['--auth=scram-sha-256'];
  const init = spawnSync(found.bin('initdb'), ['-D', data, '-U', 'postgres', ...auth, `--pwfile=${pwfile}`, '--no-sync', '-E', 'UTF8', '--locale=C'], { ...ids, encoding: 'utf8', cwd: dir });
  if (init.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  let log = '';
  const child = spawn(found.bin('postgres'), ['-D', data, '-p', String(port), '-k', sock, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'shared_buffers=16MB', '-c', `max_connections=${opts.maxConnections ?? 20}`], { ...ids, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const add = (d: Buffer): void => void (log = (log + d.toString()).slice(-20_000));
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  const env = { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' };
  const sql = (query: string, database = 'postgres'): string => {
    const r = spawnSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-At', '-c', query], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  const stop = stopper(child, dir, 'SIGINT');
  try {
    await waitFor(() => spawnSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-c', 'select 1'], { env, stdio: 'ignore' }).status === 0, 'postgres', child, () => log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { engine: 'postgres', port, socketDir: sock, user: 'postgres', password, sql, stop, osUser: as?.name ?? null };
}

/** Starts MariaDB (`mariadb-install-db` + `mariadbd`) with user `dumper` (all privileges, password). */
export async function startMariadb(password = 'maria-test-secret-91c4'): Promise<DbServer> {
  const found = findMariadb();
  if (!found.ok) throw new Error(found.reason);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rm-maria-'));
  const data = path.join(dir, 'data');
  const sockFile = path.join(dir, 'mysqld.sock');
  const user = process.getuid?.() === 0 ? ['--user=root'] : [];
  const inst = spawnSync('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, ...user, '--auth-root-authentication-method=socket', '--skip-test-db'], { encoding: 'utf8', cwd: dir });
  if (inst.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed: ${inst.stderr || inst.stdout}`);
  }
  const port = await freePort();
  let log = '';
  const child = spawn('mariadbd', ['--no-defaults', `--datadir=${data}`, `--socket=${sockFile}`, `--port=${port}`, '--bind-address=127.0.0.1', ...user,
    `--pid-file=${path.join(dir, 'mysqld.pid')}`, '--skip-log-bin', '--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M', '--skip-name-resolve', '--log-error=' + path.join(dir, 'error.log')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const add = (d: Buffer): void => void (log = (log + d.toString()).slice(-20_000));
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  const errLog = (): string => log + (existsSync(path.join(dir, 'error.log')) ? readFileSync(path.join(dir, 'error.log'), 'utf8') : '');
  const rootSql = (q: string): ReturnType<typeof spawnSync> => spawnSync('mariadb', ['--no-defaults', `--socket=${sockFile}`, '-uroot', '-N', '-B', '-e', q], { encoding: 'utf8' });
  const stop = stopper(child, dir, 'SIGTERM');
  try {
    await waitFor(() => rootSql('select 1').status === 0, 'mariadb', child, errLog);
    const q = `CREATE USER 'dumper'@'127.0.0.1' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO 'dumper'@'127.0.0.1' WITH GRANT OPTION; CREATE USER 'dumper'@'localhost' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO 'dumper'@'localhost'; FLUSH PRIVILEGES;`;
    const r = rootSql(q);
    if (r.status !== 0) throw new Error(`create user failed: ${String(r.stderr)}`);
  } catch (err) {
    await stop();
    throw err;
  }
  const sql = (query: string, database?: string): string => {
    const r = spawnSync('mariadb', ['--no-defaults', '--protocol=TCP', '-h', '127.0.0.1', `-P${port}`, '-udumper', '-N', '-B', ...(database ? [database] : []), '-e', query], { env: { ...process.env, MYSQL_PWD: password }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mariadb failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  return { engine: 'mariadb', port, socketDir: dir, user: 'dumper', password, sql, stop };
}
