/**
 * A private Docker engine for tests: `dockerd` on its own socket, data root and exec root under a
 * temp directory, with no bridge, no iptables and no masquerading (containers use
 * `--network host` or `none`), so it touches nothing of the machine's network or another engine.
 * Images come only from local tarballs (`importRootfs`): nothing is pulled. When dockerd is
 * missing or cannot start here (no cgroups, no overlay), `startDockerd` throws with the reason
 * and its log tail, and `findDockerd` tells tests to skip.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { requireTool, type ToolCheck } from './tools.js';

export interface Dockerd {
  /** `unix:///…/docker.sock`, for DOCKER_HOST or `docker -H`. */
  host: string;
  /** Runs the docker CLI against this engine (stdin optional); never throws on a non-zero exit. */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<{ code: number | null; out: string; err: string }>;
  /** The daemon's log so far (for failure messages). */
  log(): string;
  /** Stops the daemon (SIGTERM, then SIGKILL after 20 s) and removes its directories. */
  stop(): Promise<void>;
}

/** Whether a private engine can be tried here: root, `dockerd` and `docker` on PATH. */
export function findDockerd(): ToolCheck {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'dockerd needs root' };
  const d = requireTool('dockerd');
  if (!d.ok) return { ok: false, reason: "'dockerd' is not on PATH (apt-get install docker.io)" };
  const c = requireTool('docker');
  if (!c.ok) return { ok: false, reason: "'docker' is not on PATH (apt-get install docker.io)" };
  return d;
}

/** Starts a private dockerd and waits (up to 60 s) until `docker info` answers. */
export async function startDockerd(): Promise<Dockerd> {
  const found = findDockerd();
  if (!found.ok) throw new Error(found.reason);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rm-dockerd-'));
  const sock = path.join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  let log = '';
  const child: ChildProcess = spawn(found.path, [
    '--bridge=none', '--iptables=false', '--ip-masq=false', '--ip6tables=false',
    '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'), '-H', host, '--pidfile', path.join(dir, 'docker.pid'),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const add = (d: Buffer): void => void (log = (log + d.toString()).slice(-20_000));
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // A test worker that ends without stop() (a timeout) takes its engine with it.
  const orphan = (): void => void child.kill('SIGKILL');
  process.once('exit', orphan);
  const docker: Dockerd['docker'] = (args, opts = {}) =>
    new Promise((resolve) => {
      const c = spawn('docker', ['-H', host, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DOCKER_BUILDKIT: '0' } });
      let out = '';
      let err = '';
      const timer = setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out, err });
      });
      c.stdin.end(opts.input ?? '');
    });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
    }
    process.removeListener('exit', orphan);
    unmountBelow(dir);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  const end = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`dockerd exited while starting: ${log.slice(-1500)}`);
    }
    if (existsSync(sock) && (await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 10_000 })).code === 0) break;
    if (Date.now() > end) {
      await stop();
      throw new Error(`dockerd did not answer within 60 s: ${log.slice(-1500)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { host, docker, log: () => log, stop };
}

/** dockerd leaves mounts under its roots (exec-root/netns/default, overlay layers): lazily unmounted, deepest first. */
function unmountBelow(dir: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m === dir || m.startsWith(`${dir}/`));
  for (const m of points.sort((a, b) => b.length - a.length)) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

/**
 * Writes a root-filesystem tarball holding `binaries` (absolute paths, e.g. the node binary) with
 * the shared libraries `ldd` lists for them, `extra` directories copied as they are, an
 * /etc/passwd and /etc/group with root and `users` (name → uid), and a world-writable /tmp.
 * `libsFor`: files (native Node.js modules the image will carry) whose libraries are added too.
 * `docker import` turns it into a base image without any registry.
 */
export function rootfsTarball(out: string, binaries: string[], extra: string[] = [], users: Record<string, number> = {}, libsFor: string[] = []): void {
  const stage = mkdtempSync(path.join(os.tmpdir(), 'rm-rootfs-'));
  try {
    const files = new Set<string>(binaries);
    for (const b of [...binaries, ...libsFor]) {
      for (const line of execFileSync('ldd', [b], { encoding: 'utf8' }).split('\n')) {
        const m = /(\/\S+) \(0x/.exec(line);
        if (m?.[1]) files.add(m[1]);
      }
    }
    mkdirSync(path.join(stage, 'etc'));
    mkdirSync(path.join(stage, 'tmp'), { mode: 0o1777 });
    const passwd = ['root:x:0:0:root:/root:/bin/sh', ...Object.entries(users).map(([n, id]) => `${n}:x:${id}:${id}:${n}:/nonexistent:/bin/false`)];
    writeFileSync(path.join(stage, 'etc/passwd'), `${passwd.join('\n')}\n`);
    writeFileSync(path.join(stage, 'etc/group'), `${['root:x:0:', ...Object.entries(users).map(([n, id]) => `${n}:x:${id}:`)].join('\n')}\n`);
    writeFileSync(path.join(stage, 'etc/hosts'), `${readFileSync('/etc/hosts', 'utf8').split('\n').filter((l) => /localhost/.test(l)).join('\n')}\n`);
    // tar --dereference copies each file's content under its own path (symlinked libs included).
    execFileSync('tar', ['-C', stage, '-cf', out, '.']);
    execFileSync('tar', ['-rf', out, '--dereference', '-P', '--transform', 's,^/,,', ...files, ...extra]);
  } finally {
    execFileSync('rm', ['-rf', stage]);
  }
}
