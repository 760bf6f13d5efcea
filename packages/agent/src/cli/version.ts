import { EXIT, parseFlags } from './args.js';
import type { AgentCommand } from './args.js';
import { agentVersion, resticVersion } from '../version.js';
import { PROTOCOL_VERSION } from '../wire.js';
import { vaultEngineStatus, vaultSelfTest } from '../engine-loader.js';

/** `available`: installed and its self-test passed; `not_installed`: the service does not announce `vault`; `broken`: announced but cannot load. */
export type VaultEngineState = 'available' | 'not_installed' | 'broken';

async function vaultEngine(): Promise<{ state: VaultEngineState; error: string | null }> {
  const s = vaultEngineStatus();
  if (!s.installed) return { state: 'not_installed', error: s.reason };
  const error = await vaultSelfTest();
  return { state: error === null ? 'available' : 'broken', error };
}

export const command: AgentCommand = {
  summary: 'print the agent, protocol and restic versions and whether the vault engine works',
  help: `Usage: restic-manager-agent version [--json]

Prints the agent version, the wire protocol version it speaks, the restic it finds on PATH, the
Node.js version, and whether the vault engine can run here (it loads the engine and runs its
self-test: SQLite, zstd, S3 client).

Flags:
  --json   one JSON object: {"agent_version","protocol_version","restic_version","node_version",
           "vault_engine","vault_engine_error"}

vault_engine:
  available       installed and working; the service announces "vault" and runs vault jobs
  not_installed   not installed with the agent (e.g. a native module could not be built); the
                  service does not announce "vault" and the server refuses vault jobs for it
  broken          installed, but it does not load (e.g. Node.js was upgraded after the install):
                  the service announces "vault" and vault jobs fail; re-run install.sh
vault_engine_error is the reason (null when available).

Exit status: 0 always (restic_version is null when restic is missing).`,
  async run(argv) {
    const f = parseFlags(argv, { bools: ['json'] });
    const [restic, vault] = await Promise.all([resticVersion(), vaultEngine()]);
    const info = {
      agent_version: agentVersion(), protocol_version: PROTOCOL_VERSION, restic_version: restic, node_version: process.versions.node,
      vault_engine: vault.state, vault_engine_error: vault.error,
    };
    if (f.json) process.stdout.write(JSON.stringify(info) + '\n');
    else {
      const v = vault.state === 'available' ? 'vault engine available' : `vault engine ${vault.state.replace('_', ' ')}: ${vault.error ?? ''}`;
      process.stdout.write(`restic-manager-agent ${info.agent_version} (protocol ${info.protocol_version}, restic ${info.restic_version ?? 'not found'}, node ${info.node_version}, ${v})\n`);
    }
    return EXIT.ok;
  },
};
