import { EXIT, parseFlags } from './args.js';
import type { AgentCommand } from './args.js';
import { agentVersion, resticVersion } from '../version.js';
import { PROTOCOL_VERSION } from '../wire.js';

export const command: AgentCommand = {
  summary: 'print the agent, protocol and restic versions',
  help: `Usage: restic-manager-agent version [--json]

Prints the agent version, the wire protocol version it speaks and the restic it finds on PATH.

Flags:
  --json   one JSON object: {"agent_version","protocol_version","restic_version","node_version"}

Exit status: 0 always (restic_version is null when restic is missing).`,
  async run(argv) {
    const f = parseFlags(argv, { bools: ['json'] });
    const info = { agent_version: agentVersion(), protocol_version: PROTOCOL_VERSION, restic_version: await resticVersion(), node_version: process.versions.node };
    if (f.json) process.stdout.write(JSON.stringify(info) + '\n');
    else process.stdout.write(`restic-manager-agent ${info.agent_version} (protocol ${info.protocol_version}, restic ${info.restic_version ?? 'not found'}, node ${info.node_version})\n`);
    return EXIT.ok;
  },
};
