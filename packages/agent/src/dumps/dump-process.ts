import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import type { ToolCommand } from './commands.js';
import { toolLaunch, watchTool } from './tool-spawn.js';
import type { DumpExit, DumpProcessOptions } from './tool-spawn.js';

export type { DumpExit, DumpProcessOptions } from './tool-spawn.js';

export interface DumpProcess {
  /**
   * The tool's stdout. It ends only after the tool exited with status 0, so a consumer (restic
   * --stdin) never sees end-of-file for a dump that failed half-way: on failure the stream just
   * stops, and the caller must stop the consumer (see runDumpIntoRestic).
   */
  stdout: Readable;
  /** Resolves once the tool exited and its output was drained. Never rejects. */
  exited: Promise<DumpExit>;
  pid: number | undefined;
  /** SIGTERM, then SIGKILL after 5 s. */
  kill(): void;
}

/**
 * Starts a dump tool with stdout piped (back-pressure: the tool blocks when restic reads
 * slower) and stderr read line by line. Nothing is written to disk.
 */
export function startDump(cmd: ToolCommand, o: DumpProcessOptions): DumpProcess {
  const out = new PassThrough({ highWaterMark: 256 * 1024 });
  const launch = toolLaunch(cmd, o.baseEnv);
  if ('error' in launch) return { stdout: out, exited: Promise.resolve({ ok: false, exitCode: null, error: launch.error }), pid: undefined, kill: () => undefined };
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(cmd.binary, cmd.args, { env: launch.env, stdio: ['ignore', 'pipe', 'pipe'], ...launch.identity });
  } catch (err) {
    const error = o.redact(`${cmd.binary}: ${(err as Error).message}`);
    return { stdout: out, exited: Promise.resolve({ ok: false, exitCode: null, error }), pid: undefined, kill: () => undefined };
  }
  child.stdout!.pipe(out, { end: false });
  const watch = watchTool(child, cmd.binary, o, (ok) => {
    if (ok) out.end();
  });
  return { stdout: out, exited: watch.exited, pid: child.pid, kill: watch.kill };
}

/** Runs a short query tool (database listing) and returns its stdout lines, or its error. */
export async function runQuery(cmd: ToolCommand, o: Omit<DumpProcessOptions, 'onStderr'>): Promise<{ ok: true; lines: string[] } | { ok: false; error: string }> {
  const p = startDump(cmd, { ...o, onStderr: () => undefined });
  let text = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    if (text.length < 1_000_000) text += d;
  });
  const r = await p.exited;
  if (!r.ok) return { ok: false, error: r.error ?? 'failed' };
  return { ok: true, lines: text.split('\n').map((l) => l.trim()).filter(Boolean) };
}
