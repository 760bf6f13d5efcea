import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { lookupUser } from './users.js';

export interface HookRequest {
  /** `pre_hook` or `post_hook`: prefixes every output line. */
  name: 'pre_hook' | 'post_hook';
  script: string;
  /** Drop to this user's uid/gid before exec (spec §14.3); root when absent. */
  runAs?: string;
  env?: Record<string, string>;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  signal?: AbortSignal;
  /** Hooks are stopped after this long (default 1 h). */
  timeoutMs?: number;
}

export interface HookResult {
  ok: boolean;
  exitCode: number | null;
  /** Why the hook failed, for the job error. */
  error?: string;
}

/**
 * Runs a hook through `/bin/sh -c`. With `runAs`, the child gets that user's uid/gid (libuv also
 * clears supplementary groups) plus HOME/USER/LOGNAME; no `sudo` is involved. Never throws.
 */
export function runHook(req: HookRequest): Promise<HookResult> {
  let uid: number | undefined;
  let gid: number | undefined;
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...req.env };
  if (req.runAs) {
    const u = lookupUser(req.runAs);
    if (!u) return Promise.resolve({ ok: false, exitCode: null, error: `${req.name}: run_as user '${req.runAs}' does not exist on this host` });
    uid = u.uid;
    gid = u.gid;
    Object.assign(env, { HOME: u.home, USER: u.name, LOGNAME: u.name });
  }
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: HookResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    let child;
    try {
      child = spawn('/bin/sh', ['-c', req.script], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
        cwd: '/',
        ...(uid !== undefined ? { uid, gid } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
        killSignal: 'SIGTERM',
      });
    } catch (err) {
      done({ ok: false, exitCode: null, error: `${req.name}: cannot start /bin/sh: ${(err as Error).message}` });
      return;
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ ok: false, exitCode: null, error: `${req.name}: timed out` });
    }, req.timeoutMs ?? 3_600_000);
    for (const stream of ['stdout', 'stderr'] as const) {
      readline.createInterface({ input: child[stream], crlfDelay: Infinity }).on('line', (l) => req.onLine(stream, `${req.name}: ${l}`));
    }
    child.on('error', (err) => {
      const msg = (err as NodeJS.ErrnoException).code === 'EPERM' ? `cannot switch to user '${req.runAs ?? ''}' (the agent lacks CAP_SETUID/CAP_SETGID)` : err.message;
      done({ ok: false, exitCode: null, error: `${req.name}: ${msg}` });
    });
    child.on('close', (code, sig) => {
      if (code === 0) done({ ok: true, exitCode: 0 });
      else done({ ok: false, exitCode: code, error: `${req.name} exited with ${code !== null ? `status ${code}` : `signal ${sig ?? '?'}`}` });
    });
  });
}
