/**
 * Runs a vault_* job in a node process of its own. The agent itself runs `--jitless
 * --no-expose-wasm` (decision 0006: it is I/O-bound and idles small), but the vault engine is
 * CPU-bound: without V8's JIT and WebAssembly it backs up ~5x slower (measured: 100 MB in 4.2 s
 * instead of 0.85 s). The child gets the agent's node flags minus those two, receives the job
 * (S3 keys included) over the IPC channel — never argv or the environment — and exits when the
 * job ends, so its memory goes back to the OS and the idle agent stays small.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ParentMessage } from './vault-ipc.js';
import type { VaultRunContext, VaultRunResult } from './vault-run.js';

/** How long a cancelled job may take to stop before its process is killed. */
const ABORT_GRACE_MS = 30_000;

const NO_JIT_FLAGS = new Set(['--jitless', '--no-expose-wasm']);
/** Flags that make node run a script of their own: a child inheriting them would run it again (and fork again). */
const EVAL_FLAGS = new Set(['-e', '--eval', '-p', '--print']);

/**
 * The agent's node flags without the ones that switch off the JIT and WebAssembly, and without
 * `-e`/`-p` (and their script) or `--input-type`, which would make the child run the parent's
 * script instead of vault-child.js.
 */
export function vaultChildExecArgv(parent: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const a = parent[i]!;
    const name = a.split('=')[0]!;
    if (EVAL_FLAGS.has(name)) {
      if (!a.includes('=')) i++; // its script is the next argument
      continue;
    }
    if (NO_JIT_FLAGS.has(a) || name === '--input-type') continue;
    out.push(a);
  }
  return out;
}

function childScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const js = path.join(here, 'vault-child.js');
  if (existsSync(js)) return js;
  // Running from the TypeScript sources (tests): the compiled child in dist/.
  const dist = path.resolve(here, '..', '..', 'dist', 'jobs', 'vault-child.js');
  if (!existsSync(dist)) throw new Error(`vault job process not built: run \`npx tsc -b\` (missing ${dist})`);
  return dist;
}

export interface VaultProcessOptions {
  /** Called with the child once it is started (tests read its /proc entries). */
  onSpawn?: (child: ChildProcess) => void;
}

export function runVaultJobInProcess(ctx: VaultRunContext, opts: VaultProcessOptions = {}): Promise<VaultRunResult> {
  const failed = (error: string): VaultRunResult => ({ outcome: { status: 'failed', exitCode: null, stats: null, error, errorKind: 'failed' }, snapshots: null });
  let child: ChildProcess;
  try {
    child = fork(childScript(), [], { execArgv: vaultChildExecArgv(process.execArgv), stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
  } catch (err) {
    return Promise.resolve(failed(`cannot start the vault job process: ${(err as Error).message}`));
  }
  opts.onSpawn?.(child);
  return new Promise((resolve) => {
    let result: VaultRunResult | null = null;
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    const send = (m: ParentMessage): void => {
      if (child.connected) child.send(m);
    };
    const onAbort = (): void => {
      send({ type: 'abort' });
      killTimer = setTimeout(() => child.kill('SIGKILL'), ABORT_GRACE_MS);
    };
    child.stderr!.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'line') ctx.line(m.stream, m.text);
      else if (m.type === 'progress') ctx.progress(m.progress);
      else result = m.result;
    });
    child.on('error', (err) => {
      if (!result) result = failed(`vault job process: ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(killTimer);
      ctx.signal.removeEventListener('abort', onAbort);
      if (result) return resolve(result);
      if (ctx.signal.aborted) return resolve({ outcome: { status: 'cancelled', exitCode: null, stats: null, error: 'cancelled; no snapshot was committed', errorKind: 'cancelled' }, snapshots: null });
      const last = stderr.trim().split('\n').filter(Boolean).pop();
      resolve(failed(`the vault job process ended without a result (${signal ? `signal ${signal}` : `exit code ${code}`})${last ? `: ${last}` : ''}; no snapshot was committed`));
    });
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    send({ type: 'run', job: { kind: ctx.kind, args: ctx.args, target: ctx.target, indexDir: ctx.indexDir, identityFile: ctx.identityFile, drillsDir: ctx.drillsDir } });
    if (ctx.signal.aborted) onAbort();
  });
}
