import { AGENT_FEATURE_VAULT_DRILL } from '@restic-manager/protocol';
import type { HostRow } from '../repositories/host.repository.js';
import type { Repositories } from './context.js';
import { agentHasFeature } from './schedule-databases.js';

/*
 * Where a vault target can be drilled (issue 16, docs/recoverability.md "Vault drills"): on a
 * host an admin marked trusted for vault drills whose agent reported an age identity matching
 * the target's recipient — never the backed-up host itself (it holds only the recipient) and
 * never the server (it has no agent and never holds an identity). Pure reads; no side effects.
 */

export type DrillHostChoice = { ok: true; host: HostRow } | { ok: false; reason: string };

type Repos = Pick<Repositories, 'hosts' | 'vaultDrillHosts' | 'vaults' | 'drills'>;

/** Why `hostId` cannot drill a target with `recipient`, or null when it can. */
async function refusal(r: Repos, host: HostRow, recipient: string): Promise<string | null> {
  const t = await r.vaultDrillHosts.find(host.id);
  if (!t?.trusted) return `host ${host.name} is not trusted for vault drills: an admin marks it on its settings page (or PUT /api/hosts/${host.id}/vault-drill-trust)`;
  if (t.identity_error) return `host ${host.name} refuses its vault identity file: ${t.identity_error}`;
  if (!t.identity_recipient) return `host ${host.name} holds no vault identity: set vault_identity_file in its agent.yaml (or RM_VAULT_IDENTITY_FILE) to a 0600 file holding the AGE-SECRET-KEY-1… line, and restart the agent`;
  if (t.identity_recipient !== recipient) return `the vault identity of host ${host.name} (recipient ${t.identity_recipient}) does not match the vault target's recipient ${recipient}`;
  if (host.last_seen_at && !agentHasFeature(host, AGENT_FEATURE_VAULT_DRILL)) return `the agent on ${host.name} (version ${host.agent_version ?? 'unknown'}) cannot run vault drills (it predates them or has no vault engine): upgrade it`;
  return null;
}

/** The host that drills `hostId`'s vault target: `wanted`, or the first trusted host whose identity matches. */
export async function chooseDrillHost(r: Repos, hostId: string, recipient: string, wanted?: string): Promise<DrillHostChoice> {
  if (wanted === hostId) return { ok: false, reason: 'a vault drill never runs on the backed-up host: it holds only the age recipient and can never decrypt; choose a host trusted for vault drills that holds the identity' };
  if (wanted) {
    const host = await r.hosts.findById(wanted);
    if (!host) return { ok: false, reason: `drill_host_id: no host ${wanted}` };
    const why = await refusal(r, host, recipient);
    return why ? { ok: false, reason: why } : { ok: true, host };
  }
  const reasons: string[] = [];
  for (const t of await r.vaultDrillHosts.trusted()) {
    if (t.host_id === hostId) continue;
    const host = await r.hosts.findById(t.host_id);
    if (!host) continue;
    const why = await refusal(r, host, recipient);
    if (!why) return { ok: true, host };
    reasons.push(why);
  }
  if (reasons.length === 0) return { ok: false, reason: 'no host is trusted for vault drills: an admin marks a host that holds the age identity as trusted on its settings page' };
  return { ok: false, reason: `no trusted host holds a matching vault identity: ${reasons.join('; ')}` };
}

/** Whether the host's vault restores are proven (its latest finished vault drill succeeded), and why not. */
export async function vaultProof(r: Repos, hostId: string): Promise<{ state: 'none' | 'proven' | 'unproven'; reason?: string }> {
  const target = await r.vaults.findByHost(hostId);
  if (!target) return { state: 'none' };
  const last = (await r.drills.recent(hostId, 50)).find((d) => d.engine === 'vault' && d.finished_at);
  if (last?.status === 'succeeded') return { state: 'proven' };
  if (last?.status === 'failed') return { state: 'unproven', reason: `the last vault drill failed: ${last.error ?? 'no reason given'}` };
  const host = await chooseDrillHost(r, hostId, target.age_recipient);
  if (!host.ok) return { state: 'unproven', reason: host.reason };
  return { state: 'unproven', reason: `no vault drill has succeeded yet (host ${host.host.name} can run one)` };
}
