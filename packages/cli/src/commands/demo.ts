import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startServer } from '@restic-manager/server';
import type { RunningServer } from '@restic-manager/server';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';

/*
 * `npm run demo`: the whole system on one machine — the server on 127.0.0.1, a local restic
 * repository, and one agent (a real child process) enrolled automatically; one backup of a
 * sample folder with live progress; then the URL and admin credentials, until Ctrl-C.
 */

/** The repository root: the nearest ancestor of this file (or the cwd) with a `packages/` dir. */
function projectRoot(): string {
  for (const start of [process.cwd(), path.dirname(fileURLToPath(import.meta.url))]) {
    let dir = start;
    while (dir !== path.dirname(dir)) {
      if (existsSync(path.join(dir, 'packages')) && existsSync(path.join(dir, 'package.json'))) return dir;
      dir = path.dirname(dir);
    }
  }
  return process.cwd();
}

function makeSample(dir: string): { files: number; bytes: number } {
  const words = 'backup restore snapshot policy retention repository agent server schedule'.split(' ');
  let bytes = 0;
  let files = 0;
  const write = (rel: string, data: string | Buffer): void => {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, data);
    bytes += Buffer.byteLength(data);
    files++;
  };
  for (let i = 0; i < 40; i++) write(`notes/${i % 4}/note-${i}.txt`, Array.from({ length: 300 + i * 25 }, (_, j) => words[(i * 7 + j) % words.length]).join(' ') + '\n');
  for (let i = 0; i < 6; i++) write(`media/photo-${i}.bin`, randomBytes(512 * 1024 * (i + 1)));
  write('etc/app.conf', 'listen = 127.0.0.1:9000\nworkers = 4\n');
  return { files, bytes };
}

interface Flags {
  once: boolean;
  json: boolean;
  dir: string;
  port: number;
}

function parse(argv: string[]): Flags | string {
  const f: Flags = { once: process.env.RM_DEMO_EXIT_AFTER === '1' || process.env.RM_DEMO_EXIT_AFTER === 'backup', json: false, dir: path.join(projectRoot(), '.demo'), port: 8080 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--once') f.once = true;
    else if (a === '--json') f.json = true;
    else if (a === '--dir' && argv[i + 1]) f.dir = path.resolve(argv[++i]!);
    else if (a === '--port' && argv[i + 1] && /^\d+$/.test(argv[i + 1]!)) f.port = Number(argv[++i]);
    else return `unknown or incomplete flag '${a ?? ''}'`;
  }
  return f;
}

class DemoError extends Error {
  constructor(readonly step: string, message: string) {
    super(message);
  }
}

/** A browser-like API client: session cookie + CSRF header. */
class Api {
  private cookie = '';
  private csrf = '';
  constructor(readonly url: string) {}
  get sessionCookie(): string {
    return `rm_session=${this.cookie}`;
  }
  async login(password: string): Promise<void> {
    const r = await fetch(`${this.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    if (r.status !== 200) throw new DemoError('login', `HTTP ${r.status}: ${await r.text()}`);
    this.cookie = /rm_session=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1] ?? '';
    this.csrf = ((await r.json()) as { csrf_token: string }).csrf_token;
  }
  async call<T>(step: string, method: string, p: string, body?: unknown, ok = [200, 201, 202]): Promise<T> {
    const h: Record<string, string> = { cookie: this.sessionCookie, 'x-csrf-token': this.csrf };
    if (body !== undefined) h['content-type'] = 'application/json';
    const r = await fetch(`${this.url}${p}`, { method, headers: h, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await r.text();
    if (!ok.includes(r.status)) throw new DemoError(step, `HTTP ${r.status}: ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : null) as T;
  }
}

async function until<T>(step: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new DemoError(step, `no result within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function startOn(port: number, dataDir: string, adminPassword: string, logFile: string): Promise<RunningServer> {
  const logStream = createWriteStream(logFile, { flags: 'a' });
  const boot = (listen: string): Promise<RunningServer> => startServer({ listen, dataDir, cookieSecure: false, adminPassword, logLevel: 'info' }, { logStream });
  try {
    return await boot(`127.0.0.1:${port}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' && !/EADDRINUSE/.test(String(err))) throw err;
    return boot('127.0.0.1:0');
  }
}

type Job = { id: string; status: string; error: string | null; stats: Record<string, unknown> | null };

/** Runs a job through the API; prints live progress from the browser stream (WS /api/jobs/:id/stream). */
async function runJob(api: Api, hostId: string, kind: string, args: Record<string, unknown>, say: (s: string) => void, tty: boolean): Promise<Job> {
  const started = await api.call<{ job: Job }>(kind, 'POST', `/api/hosts/${hostId}/jobs`, { kind, args });
  const id = started.job.id;
  const ws = new WebSocket(`${api.url.replace(/^http/, 'ws')}/api/jobs/${id}/stream`, { headers: { cookie: api.sessionCookie, origin: api.url } });
  ws.on('error', () => undefined);
  ws.on('message', (d: Buffer) => {
    const f = JSON.parse(d.toString('utf8')) as { type: string; percent_done?: number; bytes_done?: number; files_done?: number };
    if (f.type !== 'job.progress' || kind !== 'backup') return;
    const line = `  backup      ${String(Math.round((f.percent_done ?? 0) * 100)).padStart(3)}%  ${((f.bytes_done ?? 0) / 1048576).toFixed(1)} MiB, ${f.files_done ?? 0} files`;
    if (tty) process.stdout.write(`\r${line}\x1b[K`);
    else say(line);
  });
  const job = await until(kind, async () => {
    const j = await api.call<Job>(kind, 'GET', `/api/jobs/${id}`);
    return ['succeeded', 'failed', 'cancelled'].includes(j.status) ? j : null;
  }, 120_000);
  ws.close();
  if (tty && kind === 'backup') process.stdout.write('\r\x1b[K');
  if (job.status !== 'succeeded') throw new DemoError(kind, `job ${id} ${job.status}: ${job.error ?? 'no details'} (see the job page in the UI)`);
  return job;
}

export const command: Command = {
  summary: 'Run the whole system locally: server, local repository, one enrolled agent, one backup',
  help: `Usage: restic-manager demo [--once] [--json] [--port N] [--dir DIR]

Starts a fresh demo under .demo/ (or --dir): the server on 127.0.0.1 (port 8080, or a free
port when taken), a local restic repository, and one agent on this machine enrolled
automatically as host "demo". Backs up a sample folder once with live progress, prints the
URL and the admin credentials, and keeps running until Ctrl-C.

Flags:
  --once        exit after the first backup (also RM_DEMO_EXIT_AFTER=1): a smoke test
  --json        with --once: print one JSON summary instead of text
  --port N      preferred port (default 8080)
  --dir DIR     demo directory (default <project>/.demo; wiped at start)

Files: DIR/server (database, key), DIR/agent (agent state), DIR/repo (restic repository),
DIR/sample (the folder backed up), DIR/server.log and DIR/agent.log (logs), DIR/admin-password.

Exit status:
  0  stopped with Ctrl-C, or --once finished the backup
  1  a step failed (the message says which; logs are in DIR)
  2  usage error`,
  async run(argv) {
    const f = parse(argv);
    if (typeof f === 'string') {
      process.stderr.write(`demo: ${f}\n`);
      return EXIT.usage;
    }
    const t0 = Date.now();
    const tty = process.stdout.isTTY === true && !f.json;
    const say = (s: string): void => {
      if (!f.json) process.stdout.write(`${s}\n`);
    };
    const agentMain = path.join(projectRoot(), 'packages/agent/dist/main.js');
    if (!existsSync(agentMain)) {
      process.stderr.write(`demo: ${agentMain} is missing; run 'npx tsc -b' (npm run demo does it for you)\n`);
      return EXIT.failed;
    }
    for (const sub of ['server', 'agent', 'repo', 'sample']) rmSync(path.join(f.dir, sub), { recursive: true, force: true });
    mkdirSync(f.dir, { recursive: true, mode: 0o700 });
    const adminPassword = randomBytes(12).toString('base64url');
    writeFileSync(path.join(f.dir, 'admin-password'), `${adminPassword}\n`, { mode: 0o600 });

    let server: RunningServer | null = null;
    let agent: ChildProcess | null = null;
    const shutdown = async (): Promise<void> => {
      if (agent && agent.exitCode === null) {
        const a = agent;
        const gone = new Promise((r) => a.once('exit', r));
        a.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000).unref())]);
        if (a.exitCode === null) a.kill('SIGKILL');
      }
      await server?.close().catch(() => undefined);
    };
    try {
      say('restic-manager demo');
      server = await startOn(f.port, path.join(f.dir, 'server'), adminPassword, path.join(f.dir, 'server.log'));
      say(`  server      ${server.url}  (data in ${path.join(f.dir, 'server')})`);
      const api = new Api(server.url);
      await api.login(adminPassword);

      const repo = path.join(f.dir, 'repo');
      const added = await api.call<{ host_id: string; token: string }>('add host', 'POST', '/api/hosts', { name: 'demo', tags: ['demo'], repository: { url: repo } });
      say(`  repository  ${repo} (local restic repository; its password is kept by the server)`);

      const agentLog = createWriteStream(path.join(f.dir, 'agent.log'), { flags: 'a' });
      const agentDir = path.join(f.dir, 'agent');
      const enroll = spawn(process.execPath, [agentMain, 'enroll', '--server', server.url, '--state-dir', agentDir], { env: { ...process.env, RM_TOKEN: added.token }, stdio: ['ignore', 'pipe', 'pipe'] });
      let enrollErr = '';
      enroll.stderr.on('data', (d: Buffer) => (enrollErr += d.toString()));
      const code = await new Promise<number | null>((r) => enroll.on('close', r));
      if (code !== 0) throw new DemoError('enroll', enrollErr.trim());
      agent = spawn(process.execPath, [agentMain, 'run', '--state-dir', agentDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RM_AGENT_BACKOFF_MAX_MS: '5000' } });
      agent.stdout!.pipe(agentLog);
      agent.stderr!.pipe(agentLog);
      await until('agent connect', async () => (await api.call<{ status: string }>('host', 'GET', `/api/hosts/${added.host_id}`)).status === 'online', 30_000);
      say(`  agent       enrolled as host "demo" (${added.host_id}), connected; state in ${agentDir}`);

      await runJob(api, added.host_id, 'init', {}, say, tty);
      const sampleDir = path.join(f.dir, 'sample');
      const sample = makeSample(sampleDir);
      say(`  sample      ${sampleDir} (${sample.files} files, ${(sample.bytes / 1048576).toFixed(1)} MiB)`);
      const backup = await runJob(api, added.host_id, 'backup', { paths: [sampleDir], tags: ['demo'] }, say, tty);
      const st = backup.stats ?? {};
      const snaps = await until('snapshots', async () => {
        const r = await api.call<{ total: number; items: { id: string; short_id?: string }[] }>('snapshots', 'GET', `/api/hosts/${added.host_id}/snapshots`);
        return r.total > 0 ? r.items : null;
      }, 20_000);
      const snapshot = snaps[0]!.id;
      say(`  backup      snapshot ${snapshot.slice(0, 8)}: ${String(st.totalFilesProcessed ?? sample.files)} files, ${(Number(st.dataAdded ?? 0) / 1048576).toFixed(1)} MiB added in ${Number(st.durationSeconds ?? 0).toFixed(1)} s`);
      await api.call('schedule', 'POST', `/api/hosts/${added.host_id}/schedules`, { kind: 'backup', cron_expr: '0 * * * *', paths: [sampleDir], tags: ['demo', 'hourly'] });
      say('  schedule    hourly backup of the sample folder (fires on the agent even if the server stops)');
      const seconds = (Date.now() - t0) / 1000;

      if (f.once) {
        if (f.json) process.stdout.write(`${JSON.stringify({ ok: true, url: server.url, host_id: added.host_id, job_id: backup.id, snapshot, seconds, demo_dir: f.dir })}\n`);
        else say(`\nDemo backup done in ${seconds.toFixed(1)} s (--once: stopping).`);
        await shutdown();
        return EXIT.ok;
      }
      say(`\nReady in ${seconds.toFixed(1)} s. Open ${server.url} and sign in as  admin / ${adminPassword}`);
      say(`(the password is also in ${path.join(f.dir, 'admin-password')}; logs: ${path.join(f.dir, 'server.log')}, ${path.join(f.dir, 'agent.log')})`);
      say('Press Ctrl-C to stop.');
      const a = agent;
      let stopping = false;
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          stopping = true;
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        // Ctrl-C reaches the agent too (same process group); only an unexpected exit is news.
        a.once('exit', (c) => {
          setTimeout(() => {
            if (!stopping) process.stderr.write(`demo: the agent exited (code ${String(c)}); see ${path.join(f.dir, 'agent.log')}\n`);
            resolve();
          }, 200);
        });
      });
      say('\nstopping…');
      await shutdown();
      return EXIT.ok;
    } catch (err) {
      const step = err instanceof DemoError ? err.step : 'start';
      if (f.json) process.stdout.write(`${JSON.stringify({ ok: false, step, error: (err as Error).message })}\n`);
      else process.stderr.write(`\ndemo: ${step} failed: ${(err as Error).message}\nlogs: ${path.join(f.dir, 'server.log')}, ${path.join(f.dir, 'agent.log')}\n`);
      await shutdown();
      return EXIT.failed;
    }
  },
};
