/*
 * The machine's processes as the kernel lists them (/proc, Linux): for tests that look for a
 * child process (to kill it, or to see that it is gone) or for a secret in anyone's argv.
 * A process that ends while it is being read is left out, never an error.
 */
import fs from 'node:fs';

export interface ProcEntry {
  pid: number;
  ppid: number;
  /** The one-letter state of /proc/<pid>/stat (R, S, Z…). */
  state: string;
  /** Start time in clock ticks since boot: with the pid, names one process even after pid reuse. */
  start: string;
  argv: string[];
  /** argv joined with spaces. */
  cmdline: string;
}

const pids = (): number[] => fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);

/** One process, or null when it is gone. */
export function processInfo(pid: number): ProcEntry | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name in parentheses may hold spaces and parentheses: the fields follow the last ')'
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    return { pid, state: f[0] ?? '', ppid: Number(f[1]), start: f[19] ?? '', argv, cmdline: argv.join(' ') };
  } catch {
    return null;
  }
}

/** Every process (this one included). */
export function processes(): ProcEntry[] {
  return pids().map(processInfo).filter((p): p is ProcEntry => p !== null);
}

/** A process's environment (`NAME=value` each); empty when it is gone or not readable (another user's). */
export function environOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Every process's argv, one line each with the arguments joined by spaces: what a secret must never be part of. */
export function allCmdlines(): string {
  return processes().map((p) => `${p.cmdline}\n`).join('');
}
