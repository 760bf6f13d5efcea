import { EXIT, STATE_DIR_HELP, UsageError, parseFlags } from './args.js';
import type { AgentCommand } from './args.js';
import { resolveStateDir, statePaths } from '../state/paths.js';
import { enroll } from '../enroll.js';
import fs from 'node:fs';

export const command: AgentCommand = {
  summary: 'enroll this host with a restic-manager server (one-time token)',
  help: `Usage: restic-manager-agent enroll --server URL --token TOKEN [--cert-pin SHA256] [--state-dir DIR] [--force]

Exchanges a one-time enrollment token (from "Add host" in the web UI) for this host's
identity and bearer, and writes agent.yaml (mode 0600) into the state directory.
The token may also come from $RM_TOKEN so it stays out of the shell history and argv.

Flags:
  --server URL      server base URL, e.g. https://backup.example.org
  --token TOKEN     one-time enrollment token (default $RM_TOKEN)
  --cert-pin HEX    pin the SHA-256 of the server's TLS leaf certificate
${STATE_DIR_HELP}
  --force           replace an existing enrollment

Exit status: 0 enrolled, 1 the server refused or could not be reached, 2 usage error.`,
  async run(argv) {
    const f = parseFlags(argv, { values: ['server', 'token', 'cert-pin', 'state-dir'], bools: ['force'] });
    const server = f.server;
    const token = typeof f.token === 'string' ? f.token : process.env.RM_TOKEN;
    if (typeof server !== 'string') throw new UsageError('--server URL is required');
    if (!token) throw new UsageError('--token (or $RM_TOKEN) is required');
    const stateDir = resolveStateDir(typeof f['state-dir'] === 'string' ? f['state-dir'] : undefined);
    if (fs.existsSync(statePaths(stateDir).config) && !f.force) {
      process.stderr.write(`this host is already enrolled (${statePaths(stateDir).config} exists); pass --force to enroll again\n`);
      return EXIT.failed;
    }
    try {
      const cfg = await enroll({ serverUrl: server, token, stateDir, ...(typeof f['cert-pin'] === 'string' ? { certPin: f['cert-pin'] } : {}) });
      process.stdout.write(`enrolled as host ${cfg.host_id}; state written to ${statePaths(stateDir).config}\nstart the agent with: restic-manager-agent run${stateDir !== '/var/lib/restic-manager' ? ` --state-dir ${stateDir}` : ''}\n`);
      return EXIT.ok;
    } catch (err) {
      process.stderr.write(`enroll failed: ${(err as Error).message}\n`);
      return EXIT.failed;
    }
  },
};
