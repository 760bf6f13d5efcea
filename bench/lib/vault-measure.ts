/** Running a command under GNU time: wall clock and peak RSS. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Measured {
  wallS: number;
  peakRssMb: number;
  stdout: string;
}

/**
 * Runs `cmd` under GNU time. Dirty pages are flushed first (`sync`), so a run does not
 * pay for the previous tool's writeback.
 */
export function measure(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): Measured {
  spawnSync('sync');
  const dir = mkdtempSync(path.join(tmpdir(), 'vault-bench-'));
  const out = path.join(dir, 'time');
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', out, cmd, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    ...(cwd ? { cwd } : {}),
  });
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const kb = Number(readFileSync(out, 'utf8').trim().split('\n').pop());
  rmSync(dir, { recursive: true, force: true });
  return { wallS, peakRssMb: kb / 1024, stdout: r.stdout };
}

/** Sum of the sizes of all regular files below `dir`. */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) total += statSync(path.join(e.parentPath, e.name)).size;
  return total;
}
