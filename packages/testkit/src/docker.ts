/**
 * A private Docker engine for tests, and database images built offline.
 *
 * `startDockerEngine()` runs Debian's `dockerd` (package docker.io) on its own socket, data root
 * and exec root under a temp directory, with no bridge, no iptables rules and no masquerading:
 *
 *     dockerd --bridge=none --iptables=false --ip-masq=false --data-root D --exec-root X
 *             -H unix://X/docker.sock --pidfile X/docker.pid
 *
 * `stop()` stops it (SIGTERM, its containers with it) and removes the directories. Containers
 * started through `run()` use `--network none`; nothing here ever talks to a registry.
 *
 * `postgresImage()` imports a Debian root filesystem with `postgresql` installed (debootstrap from
 * the machine's configured Debian mirror) as `postgres:rm-test`. The tarball is built once and
 * cached outside the repository (`RM_IMAGE_CACHE`, default ~/.cache/restic-manager/images). The
 * image's entrypoint behaves like the official image for POSTGRES_USER / POSTGRES_PASSWORD /
 * POSTGRES_DB: it creates the cluster (scram-sha-256 on the socket and on 127.0.0.1) on first start.
 *
 * Every function that cannot work here returns `{ ok: false, reason }` so a test can skip visibly.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { requireTool } from './tools.js';

export interface DockerEngine {
  /** `unix:///…/docker.sock`: the value for DOCKER_HOST. */
  host: string;
  socket: string;
  /** Runs the docker CLI against this engine; throws with its stderr when it fails. */
  docker(args: string[], input?: string): string;
  /** The same, returning status and output instead of throwing. */
  tryDocker(args: string[], input?: string): { status: number | null; stdout: string; stderr: string };
  /** The docker CLI without blocking the event loop (builds, long runs); never throws on a non-zero exit. */
  run(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<{ code: number | null; out: string; err: string }>;
  /** The daemon's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export type Ready<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Whether a private engine can start here: root, dockerd and docker on PATH. */
export function findDocker(): { ok: true } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'dockerd needs root' };
  for (const t of ['dockerd', 'docker', 'containerd', 'runc']) {
    const r = requireTool(t);
    if (!r.ok) return { ok: false, reason: `${r.reason} (apt-get install docker.io)` };
  }
  return { ok: true };
}

async function until(check: () => boolean, what: string, ms: number, child?: ChildProcess, log?: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child && child.exitCode !== null) throw new Error(`${what}: exited (${child.exitCode}): ${log?.().slice(-3000) ?? ''}`);
    if (check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not ready after ${ms} ms${log ? `: ${log().slice(-3000)}` : ''}`);
}

/** Starts a private dockerd; `{ok:false}` with the reason when it cannot run here. */
export async function startDockerEngine(): Promise<Ready<DockerEngine>> {
  const found = findDocker();
  if (!found.ok) return found;
  // Short paths: the socket path must stay below the 108-byte sun_path limit.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rm-dk-'));
  const data = path.join(dir, 'data');
  const exec = path.join(dir, 'x');
  mkdirSync(data, { mode: 0o700 });
  mkdirSync(exec, { mode: 0o700 });
  const socket = path.join(exec, 'docker.sock');
  const host = `unix://${socket}`;
  let log = '';
  const child = spawn('dockerd', ['--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--data-root', data, '--exec-root', exec, '-H', host, '--pidfile', path.join(exec, 'docker.pid')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DOCKER_HOST: host } });
  const add = (d: Buffer): void => void (log = (log + d.toString()).slice(-30_000));
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  const tryDocker = (args: string[], input?: string): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync('docker', ['-H', host, ...args], { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DOCKER_HOST: host } });
    return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  };
  const docker = (args: string[], input?: string): string => {
    const r = tryDocker(args, input);
    if (r.status !== 0) throw new Error(`docker ${args.slice(0, 2).join(' ')} failed: ${r.stderr.trim().slice(-2000)}`);
    return r.stdout.trim();
  };
  const run: DockerEngine['run'] = (args, opts = {}) =>
    new Promise((resolve) => {
      const c = spawn('docker', ['-H', host, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '0' } });
      let out = '';
      let err = '';
      const timer = setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-64_000)));
      c.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out, err });
      });
      c.stdin.end(opts.input ?? '');
    });
  // A test worker that ends without stop() (a timeout) takes its engine with it.
  const orphan = (): void => void child.kill('SIGKILL');
  process.once('exit', orphan);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', orphan);
    if (child.exitCode === null && child.signalCode === null) {
      tryDocker(['ps', '-aq']).stdout.split('\n').filter(Boolean).forEach((id) => tryDocker(['rm', '-f', id]));
      await new Promise<void>((r) => {
        const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('exit', () => {
          clearTimeout(t);
          r();
        });
        child.kill('SIGTERM');
      });
    }
    // Mounts dockerd made under its roots (overlay layers, netns) may outlive it for a moment.
    spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`], { stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    await until(() => existsSync(socket) && tryDocker(['version', '--format', '{{.Server.Version}}']).status === 0, 'dockerd', 60_000, child, () => log);
  } catch (err) {
    await stop();
    return { ok: false, reason: `dockerd did not start: ${(err as Error).message.slice(0, 600)}` };
  }
  return { ok: true, value: { host, socket, docker, tryDocker, run, log: () => log, stop } };
}

/** Where built root-filesystem tarballs are cached (outside the repository). */
export function imageCacheDir(): string {
  return process.env.RM_IMAGE_CACHE ?? path.join(os.homedir(), '.cache', 'restic-manager', 'images');
}

/** The Debian mirror and suite apt uses here (deb822 or one-line sources). */
export function debianMirror(): { mirror: string; suite: string } {
  const files = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const f of files) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8');
    const uri = /^URIs:\s*(\S+)/m.exec(text)?.[1];
    const suite = /^Suites:\s*(\S+)/m.exec(text)?.[1];
    if (uri && suite && !uri.includes('security')) return { mirror: uri, suite };
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+main/m.exec(text);
    if (line && !line[1]!.includes('security')) return { mirror: line[1]!, suite: line[2]! };
  }
  return { mirror: 'http://deb.debian.org/debian', suite: 'bookworm' };
}

/** The entrypoint of the MariaDB image: the official image's MARIADB_* env contract, minimal (socket only). */
const MARIA_ENTRYPOINT = `#!/bin/sh
set -e
DATADIR=/var/lib/mysql
INIT=
if [ ! -d "$DATADIR/mysql" ]; then
  mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=socket --skip-test-db >/dev/null
  init="$DATADIR/.rm-init.sql"
  umask 077
  : > "$init"
  if [ -n "$MARIADB_DATABASE" ]; then echo "CREATE DATABASE $MARIADB_DATABASE;" >> "$init"; fi
  if [ -n "$MARIADB_USER" ]; then
    echo "CREATE USER '$MARIADB_USER'@'localhost' IDENTIFIED BY '$MARIADB_PASSWORD';" >> "$init"
    echo "GRANT ALL PRIVILEGES ON *.* TO '$MARIADB_USER'@'localhost';" >> "$init"
  fi
  INIT="--init-file=$init"
fi
exec mariadbd --datadir="$DATADIR" --socket=/run/mysqld/mysqld.sock --skip-networking --skip-log-bin --innodb-buffer-pool-size=16M $INIT
`;

/** The entrypoint of the PostgreSQL image: the official image's env contract, minimal. */
const PG_ENTRYPOINT = `#!/bin/sh
set -e
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
PGDATA=/var/lib/postgresql/data
: "\${POSTGRES_USER:=postgres}"
: "\${POSTGRES_DB:=$POSTGRES_USER}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  pw=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" > "$pw"
  "$PGBIN/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pw" --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  rm -f "$pw"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \\"$POSTGRES_DB\\" OWNER \\"$POSTGRES_USER\\"" | "$PGBIN/postgres" --single -D "$PGDATA" postgres >/dev/null
  fi
fi
exec "$PGBIN/postgres" -D "$PGDATA" -c listen_addresses=127.0.0.1 -c unix_socket_directories=/var/run/postgresql -c fsync=off -c shared_buffers=16MB -c max_connections=20
`;

export interface ImageBuild {
  tarball: string;
  /** Seconds the debootstrap build took; null when the cached tarball was used. */
  builtSeconds: number | null;
}

/**
 * The cached root filesystem tarball with PostgreSQL, built when missing (debootstrap
 * --variant=minbase --include=postgresql, a few minutes; the lock file makes concurrent callers
 * wait for one build).
 */
export function postgresRootfs(): Promise<Ready<ImageBuild>> {
  return buildRootfs({ name: 'debian-postgresql', packages: ['postgresql'], entrypoint: PG_ENTRYPOINT, entrypointName: 'rm-postgres-entrypoint', drop: ['var/lib/postgresql', 'etc/postgresql'], dirs: [] });
}

/** The cached root filesystem tarball with MariaDB, built when missing (as postgresRootfs). */
export function mariadbRootfs(): Promise<Ready<ImageBuild>> {
  return buildRootfs({ name: 'debian-mariadb', packages: ['mariadb-server', 'mariadb-client'], entrypoint: MARIA_ENTRYPOINT, entrypointName: 'rm-mariadb-entrypoint', drop: ['var/lib/mysql'], dirs: ['run/mysqld', 'var/lib/mysql'] });
}

interface RootfsSpec {
  name: string;
  packages: string[];
  entrypoint: string;
  entrypointName: string;
  /** Directories emptied after the install (the package's own cluster/datadir is not used). */
  drop: string[];
  /** Directories (re)created and handed to the chroot's `mysql` user. */
  dirs: string[];
}

async function buildRootfs(spec: RootfsSpec): Promise<Ready<ImageBuild>> {
  const cache = imageCacheDir();
  const tarball = path.join(cache, `${spec.name}.tar`);
  if (existsSync(tarball)) return { ok: true, value: { tarball, builtSeconds: null } };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'building the image root needs root (debootstrap)' };
  const tool = requireTool('debootstrap');
  if (!tool.ok) return { ok: false, reason: `${tool.reason} (apt-get install debootstrap)` };
  mkdirSync(cache, { recursive: true });
  const lock = `${tarball}.lock`;
  let fd: number | null = null;
  const deadline = Date.now() + 30 * 60_000;
  while (fd === null) {
    try {
      fd = openSync(lock, 'wx');
    } catch {
      if (existsSync(tarball)) return { ok: true, value: { tarball, builtSeconds: null } };
      // A lock older than 30 minutes belongs to a build that died.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 30 * 60_000) rmSync(lock, { force: true });
      } catch {
        // gone meanwhile
      }
      if (Date.now() > deadline) return { ok: false, reason: `another build holds ${lock}` };
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  const started = Date.now();
  const root = path.join(cache, `rootfs-${spec.name}-${process.pid}`);
  try {
    const { mirror, suite } = debianMirror();
    const r = await runLogged('debootstrap', ['--variant=minbase', `--include=${spec.packages.join(',')}`, suite, root, mirror]);
    if (r.status !== 0) return { ok: false, reason: `debootstrap failed (${r.status}): ${r.log.slice(-1500)}` };
    // The package's own cluster is not used: the entrypoint makes one in /var/lib/postgresql/data.
    for (const p of spec.drop) for (const v of safeList(path.join(root, p))) rmSync(path.join(root, p, v), { recursive: true, force: true });
    for (const d of spec.dirs) {
      mkdirSync(path.join(root, d), { recursive: true });
      spawnSync('chroot', [root, 'chown', 'mysql:mysql', `/${d}`], { stdio: 'ignore' });
    }
    for (const p of ['var/cache/apt/archives', 'var/lib/apt/lists']) rmSync(path.join(root, p), { recursive: true, force: true });
    mkdirSync(path.join(root, 'var/cache/apt/archives/partial'), { recursive: true });
    writeFileSync(path.join(root, 'usr/local/bin', spec.entrypointName), spec.entrypoint, { mode: 0o755 });
    chmodSync(path.join(root, 'usr/local/bin', spec.entrypointName), 0o755);
    const tmp = `${tarball}.${process.pid}.tmp`;
    const t = await runLogged('tar', ['-C', root, '--numeric-owner', '-cf', tmp, '.']);
    if (t.status !== 0) return { ok: false, reason: `tar failed: ${t.log.slice(-1500)}` };
    renameSync(tmp, tarball);
    return { ok: true, value: { tarball, builtSeconds: Math.round((Date.now() - started) / 1000) } };
  } finally {
    spawnSync('sh', ['-c', `grep -o " ${root}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`], { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
    closeSync(fd);
    rmSync(lock, { force: true });
  }
}

function safeList(dir: string): string[] {
  try {
    return existsSync(dir) ? (spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout ?? '').split('\n').filter(Boolean) : [];
  } catch {
    return [];
  }
}

function runLogged(cmd: string, args: string[]): Promise<{ status: number | null; log: string }> {
  return new Promise((resolve) => {
    let log = '';
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const add = (d: Buffer): void => void (log = (log + d.toString()).slice(-20_000));
    c.stdout.on('data', add);
    c.stderr.on('data', add);
    c.on('error', (e) => resolve({ status: null, log: `${log}\n${e.message}` }));
    c.on('close', (status) => resolve({ status, log }));
  });
}

export const POSTGRES_IMAGE = 'postgres:rm-test';
export const MARIADB_IMAGE = 'mariadb:rm-test';

/** Imports the cached MariaDB root (built first when missing) into `engine` as MARIADB_IMAGE. */
export async function mariadbImage(engine: DockerEngine): Promise<Ready<ImageBuild & { image: string }>> {
  const root = await mariadbRootfs();
  if (!root.ok) return root;
  if (engine.tryDocker(['image', 'inspect', MARIADB_IMAGE]).status !== 0) {
    const r = engine.tryDocker(['import', '--change', 'USER mysql', '--change', 'ENTRYPOINT ["/usr/local/bin/rm-mariadb-entrypoint"]', '--change', 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--change', 'ENV LANG=C.UTF-8', root.value.tarball, MARIADB_IMAGE]);
    if (r.status !== 0) return { ok: false, reason: `docker import failed: ${r.stderr.slice(-1000)}` };
  }
  return { ok: true, value: { ...root.value, image: MARIADB_IMAGE } };
}

/** Imports the cached PostgreSQL root (built first when missing) into `engine` as POSTGRES_IMAGE. */
export async function postgresImage(engine: DockerEngine): Promise<Ready<ImageBuild & { image: string }>> {
  const root = await postgresRootfs();
  if (!root.ok) return root;
  const have = engine.tryDocker(['image', 'inspect', POSTGRES_IMAGE]);
  if (have.status !== 0) {
    const r = engine.tryDocker(['import', '--change', 'USER postgres', '--change', 'ENTRYPOINT ["/usr/local/bin/rm-postgres-entrypoint"]', '--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', '--change', 'ENV LANG=C.UTF-8', root.value.tarball, POSTGRES_IMAGE]);
    if (r.status !== 0) return { ok: false, reason: `docker import failed: ${r.stderr.slice(-1000)}` };
  }
  return { ok: true, value: { ...root.value, image: POSTGRES_IMAGE } };
}

/**
 * Starts a PostgreSQL container (`--network none`) and waits until it accepts connections
 * (`pg_isready` inside it). Returns its name.
 */
export async function runPostgresContainer(engine: DockerEngine, name: string, env: Record<string, string>, labels: Record<string, string> = {}, image = POSTGRES_IMAGE): Promise<string> {
  const envArgs = Object.keys(env).flatMap((k) => ['-e', k]);
  const labelArgs = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const r = spawnSync('docker', ['-H', engine.host, 'run', '-d', '--network', 'none', '--name', name, ...labelArgs, ...envArgs, image], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`docker run ${name} failed: ${r.stderr}`);
  await until(() => engine.tryDocker(['exec', name, 'pg_isready', '-q', '-h', '/var/run/postgresql']).status === 0, `postgres in container ${name}`, 90_000, undefined, () => engine.tryDocker(['logs', '--tail', '40', name]).stderr);
  return name;
}

/**
 * Starts a MariaDB container (`--network none`, socket only) and waits until the server answers
 * (`mariadb-admin ping` inside it). Returns its name.
 */
export async function runMariadbContainer(engine: DockerEngine, name: string, env: Record<string, string>): Promise<string> {
  const envArgs = Object.keys(env).flatMap((k) => ['-e', k]);
  const r = spawnSync('docker', ['-H', engine.host, 'run', '-d', '--network', 'none', '--name', name, ...envArgs, MARIADB_IMAGE], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`docker run ${name} failed: ${r.stderr}`);
  await until(() => engine.tryDocker(['exec', name, 'mariadb-admin', '--socket=/run/mysqld/mysqld.sock', 'ping']).status === 0, `mariadb in container ${name}`, 90_000, undefined, () => engine.tryDocker(['logs', '--tail', '40', name]).stderr);
  return name;
}
