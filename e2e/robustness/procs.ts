/* Processes seen through /proc: children of a PID, and every argv (to look for secrets). */
import { processes as allProcesses } from '@restic-manager/testkit';

export interface ProcInfo {
  pid: number;
  ppid: number;
  argv: string;
}

export function processes(): ProcInfo[] {
  return allProcesses().map((p) => ({ pid: p.pid, ppid: p.ppid, argv: p.cmdline }));
}

/** The engine processes `parent` started directly: restic, rustic, or a vault job's node process. */
export function engineChildren(parent: number): ProcInfo[] {
  return processes().filter((p) => p.ppid === parent && (/(^|\/)r(?:est|ust)ic /.test(p.argv) || /(^|\/)vault-child\.js( |$)/.test(p.argv)));
}

/** restic processes whose argv names `repo`, or whose parent is `agentPid`. */
export function resticFor(repo: string, agentPid: number | undefined): ProcInfo[] {
  return processes().filter((p) => /(^|\/)restic( |$)/.test(p.argv) && (p.argv.includes(repo) || p.ppid === agentPid));
}

/** Samples every process's argv until stopped; collects each argv that contains a secret. */
export function argvSampler(secrets: string[], everyMs: number): { leaks: Set<string>; samples(): number; stop(): void } {
  const leaks = new Set<string>();
  let n = 0;
  const timer = setInterval(() => {
    n++;
    for (const p of processes()) {
      if (!secrets.some((s) => p.argv.includes(s))) continue;
      const shown = secrets.reduce((a, s) => a.split(s).join('<secret>'), p.argv);
      leaks.add(`pid ${p.pid}: ${shown.slice(0, 300)}`);
    }
  }, everyMs);
  timer.unref();
  return { leaks, samples: () => n, stop: () => clearInterval(timer) };
}
