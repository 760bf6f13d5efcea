import { EXIT, STATE_DIR_HELP, parseFlags } from './args.js';
import type { AgentCommand } from './args.js';
import { resolveStateDir } from '../state/paths.js';
import { StateError } from '../state/errors.js';
import { createLogger } from '../log.js';

function envInt(name: string): number | undefined {
  const v = process.env[name];
  const n = v ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export const command: AgentCommand = {
  summary: 'run the agent service loop (what the systemd unit starts)',
  help: `Usage: restic-manager-agent run [--state-dir DIR]

Connects to the server named in agent.yaml and stays connected (reconnecting with backoff),
runs the jobs the server sends, fires the last-known-good schedule even while the server is
down, and queues every report on disk until the server has it. Logs JSON lines to stderr.
Stops cleanly on SIGTERM/SIGINT (running jobs are cancelled and reported).

Flags:
${STATE_DIR_HELP}

Environment:
  RM_AGENT_LOG_LEVEL         debug | info (default) | warn | error
  RM_AGENT_HEARTBEAT_MS      heartbeat interval (default 30000)
  RM_AGENT_BACKOFF_MAX_MS    longest reconnect delay (default 60000)
  RM_AGENT_KILL_GRACE_MS     SIGINT -> SIGKILL grace on cancel (default 5000)
  RM_AGENT_RECONNECT_BUDGET_S  how long health-check tolerates a lost connection (default 300)
  RM_AGENT_SLOT_OFFLINE_WAIT_S  how long a capped scheduled job waits for a concurrency slot while
                             the server is unreachable before it runs anyway (default 600)

Exit status: 0 stopped by a signal, 1 state missing/corrupt (the reason is printed), 2 usage error.`,
  async run(argv) {
    const f = parseFlags(argv, { values: ['state-dir'] });
    const stateDir = resolveStateDir(typeof f['state-dir'] === 'string' ? f['state-dir'] : undefined);
    const log = createLogger();
    const { Agent } = await import('../agent.js');
    let agent;
    try {
      const hb = envInt('RM_AGENT_HEARTBEAT_MS');
      const maxMs = envInt('RM_AGENT_BACKOFF_MAX_MS');
      const grace = envInt('RM_AGENT_KILL_GRACE_MS');
      const budget = envInt('RM_AGENT_RECONNECT_BUDGET_S');
      const slotWait = envInt('RM_AGENT_SLOT_OFFLINE_WAIT_S');
      agent = await Agent.start({
        stateDir, log,
        ...(hb ? { heartbeatMs: hb } : {}),
        ...(maxMs ? { backoff: { initialMs: Math.min(1000, maxMs), maxMs } } : {}),
        ...(grace ? { killGraceMs: grace } : {}),
        ...(budget ? { reconnectBudgetS: budget } : {}),
        ...(slotWait ? { slotOfflineWaitMs: slotWait * 1000 } : {}),
      });
    } catch (err) {
      if (err instanceof StateError) {
        log.error(err.message);
        return EXIT.failed;
      }
      throw err;
    }
    const a = agent;
    await new Promise<void>((resolve) => {
      const stop = (sig: string): void => {
        log.info('stopping', { signal: sig });
        void a.stop().finally(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    // Anything still holding the event loop (a stuck socket) must not keep a stopped agent alive.
    setTimeout(() => process.exit(EXIT.ok), 2000).unref();
    return EXIT.ok;
  },
};
