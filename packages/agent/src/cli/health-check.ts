import { EXIT, STATE_DIR_HELP, parseFlags } from './args.js';
import type { AgentCommand } from './args.js';
import { resolveStateDir, statePaths } from '../state/paths.js';
import { judgeHealth, readStatus } from '../state/status.js';

export const command: AgentCommand = {
  summary: 'exit 0 when the running agent is connected (or still within its reconnect budget)',
  help: `Usage: restic-manager-agent health-check [--state-dir DIR] [--json]

Reads the status file the running agent keeps in its state directory. Healthy means the agent
process is alive and either connected to the server or disconnected for less than its reconnect
budget (default 300 s). Usable as a Docker HEALTHCHECK or a monitoring probe.

Flags:
${STATE_DIR_HELP}
  --json            print {"healthy","reason","status"}

Exit status: 0 healthy, 1 unhealthy (the reason is printed), 2 usage error.`,
  async run(argv) {
    const f = parseFlags(argv, { values: ['state-dir'], bools: ['json'] });
    const dir = resolveStateDir(typeof f['state-dir'] === 'string' ? f['state-dir'] : undefined);
    const status = readStatus(statePaths(dir).status);
    const v = judgeHealth(status);
    if (f.json) process.stdout.write(JSON.stringify({ ...v, status }) + '\n');
    else (v.healthy ? process.stdout : process.stderr).write(`${v.healthy ? 'healthy' : 'unhealthy'}: ${v.reason}\n`);
    return v.healthy ? EXIT.ok : EXIT.failed;
  },
};
