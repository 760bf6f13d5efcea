/* Processes seen through /proc: children of a PID, and every argv (to look for secrets). */
import fs from 'node:fs';

export interface ProcInfo {
  pid: number;
  ppid: number;
  argv: string;
}

export function processes(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(d), ppid, argv: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** restic processes started (directly) by `parent`. */
export function resticChildren(parent: number): ProcInfo[] {
  return processes().filter((p) => p.ppid === parent && /(^|\/)restic /.test(p.argv));
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
