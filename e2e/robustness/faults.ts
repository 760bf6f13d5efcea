/**
 * Faults injected while a job runs: kill -9 of the agent (restarted), of the engine child (restic,
 * rustic, or a vault job's node process; the kind keeps its name kill_restic), of the server
 * (restarted on the same port and data directory), and a dropped agent connection. The
 * moment is picked by the seeded RNG among conditions (job posted, job running, restic started),
 * never by a fixed sleep.
 */
import { eventually } from '../agent-harness.js';
import type { Ctx } from './context.js';
import { countFault } from './context.js';
import { getJob } from './repo.js';
import { engineChildren } from './procs.js';

export const MID_JOB_FAULTS = ['kill_agent', 'kill_restic', 'kill_server', 'drop_connection'] as const;
export type MidJobFault = (typeof MID_JOB_FAULTS)[number];

export interface Injected {
  injected: boolean;
  agentKilled: boolean;
  /** kill_restic: the killed process was the job's own restic run (not a side command). */
  killedJobRun?: boolean;
  note: string;
}

type Moment = 'posted' | 'running' | 'restic';

/** Waits for the moment; false when the job finished first. */
async function reach(ctx: Ctx, jobId: string, moment: Moment): Promise<boolean> {
  if (moment === 'posted') return true;
  return eventually(async () => {
    const j = await getJob(ctx.s, jobId);
    if (['succeeded', 'failed', 'cancelled'].includes(j.status)) return 'finished';
    if (moment === 'running') return j.status === 'running' ? 'reached' : null;
    const agent = ctx.s.agent?.child.pid;
    return agent !== undefined && engineChildren(agent).length > 0 ? 'reached' : null;
  }, 60_000, `job ${jobId} to reach ${moment}`).then((r) => r === 'reached');
}

export async function injectMidJob(ctx: Ctx, kind: MidJobFault, jobId: string): Promise<Injected> {
  const moment: Moment = kind === 'kill_restic' ? 'restic' : ctx.rng.pick(['posted', 'running', 'restic'] as const);
  const reached = await reach(ctx, jobId, moment);
  const at = reached ? `at ${moment}` : `after the job finished (aimed at ${moment})`;
  switch (kind) {
    case 'kill_agent':
      await ctx.s.killAgent();
      countFault(ctx, kind);
      await ctx.s.startAgent();
      return { injected: true, agentKilled: true, note: `agent killed -9 ${at} and restarted` };
    case 'kill_server':
      await ctx.s.killServer();
      countFault(ctx, kind);
      await ctx.s.startServer();
      await ctx.s.hostOnline();
      return { injected: true, agentKilled: false, note: `server killed -9 ${at} and restarted` };
    case 'drop_connection': {
      const n = ctx.s.proxy.drop();
      countFault(ctx, kind);
      await ctx.s.hostOnline();
      return { injected: true, agentKilled: false, note: `${n / 2} connection(s) dropped ${at}` };
    }
    case 'kill_restic': {
      const agent = ctx.s.agent?.child.pid;
      const children = reached && agent !== undefined ? engineChildren(agent) : [];
      // prefer the job's own restic run over the agent's side commands (lock listing, snapshots)
      const own = children.filter((c) => !/ (list locks|snapshots|stats) /.test(`${c.argv} `));
      const victims = own.length ? own : children;
      if (victims.length === 0) return { injected: false, agentKilled: false, note: 'no engine child to kill (the job finished first)' };
      const v = ctx.rng.pick(victims);
      try {
        process.kill(v.pid, 'SIGKILL');
      } catch {
        return { injected: false, agentKilled: false, note: 'the engine child exited before the kill' };
      }
      countFault(ctx, kind);
      return { injected: true, agentKilled: false, killedJobRun: own.length > 0, note: `engine child ${v.pid} (${v.argv.split(' ').slice(1, 8).join(' ')}) killed -9` };
    }
  }
}
