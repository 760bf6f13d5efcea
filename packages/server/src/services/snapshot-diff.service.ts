import type { SnapshotDiff, SnapshotDiffView } from '@restic-manager/protocol';
import type { SnapshotRow } from '../repositories/snapshot.repository.js';
import type { AgentRequests } from './agent-requests.js';
import type { ServiceDeps } from './context.js';
import { DomainError, notFound } from './errors.js';

/** How long the server waits for a diff: restic reads both trees whole to count the changes. */
export const DIFF_TIMEOUT_MS = 90_000;

const NO_SIDE = { files: 0, dirs: 0, others: 0, bytes: 0 };

/**
 * "What changed" between two snapshots of a host (issue 16): resolves both among the host's
 * cached snapshots (`parent` = the previous snapshot of the same hostname and paths in the same
 * repository), asks the host's agent for one page of `restic diff` (`snapshot.diff`) and maps its
 * errors. Changes read from `against` to the snapshot. Throws not_found (host, snapshot, no
 * parent), validation_failed (against), agent_unavailable or invalid_state.
 */
export class SnapshotDiffService {
  /** How long to wait for the agent's answer (tests shorten it). */
  timeoutMs = DIFF_TIMEOUT_MS;

  constructor(private readonly d: ServiceDeps, private readonly requests: AgentRequests) {}

  private async find(hostId: string, hostName: string, id: string, field?: string): Promise<SnapshotRow> {
    const want = id.toLowerCase();
    const hits = /^[0-9a-f]{8,64}$/.test(want) ? await this.d.repos.snapshots.findByPrefix(hostId, want) : [];
    const s = hits.length === 1 ? hits[0] : hits.find((h) => h.id === want);
    if (s) return s;
    const msg = hits.length > 1 ? `snapshot id ${id} is ambiguous on host ${hostName}: give more digits` : `snapshot ${id} is not among the snapshots of host ${hostName} (refresh them with a snapshots job)`;
    throw field ? new DomainError('validation_failed', msg, { [field]: hits.length > 1 ? 'ambiguous snapshot id' : 'no such snapshot on this host' }) : new DomainError('not_found', msg);
  }

  async diff(hostId: string, snapshotId: string, against: string, limit: number, offset: number): Promise<SnapshotDiffView> {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    const to = await this.find(hostId, host.name, snapshotId);
    let from: SnapshotRow;
    if (against === 'parent') {
      const prev = await this.d.repos.snapshots.findPrevious(hostId, to);
      if (!prev) throw new DomainError('not_found', `snapshot ${to.short_id} has no earlier snapshot of the same paths on host ${host.name}: it is the first, nothing to compare it with`);
      from = prev;
    } else {
      from = await this.find(hostId, host.name, against, 'against');
      if (from.id === to.id) throw new DomainError('validation_failed', 'against is the snapshot itself', { against: 'must name another snapshot' });
      if (from.repo_id !== to.repo_id) throw new DomainError('validation_failed', 'the two snapshots are in different repositories', { against: 'must be in the same repository' });
    }
    const r = await this.requests.request<SnapshotDiff>(hostId, { type: 'snapshot.diff', from_snapshot_id: from.id, to_snapshot_id: to.id, limit, offset }, this.timeoutMs);
    if (r.error) {
      if (r.error_kind === 'unknown_snapshot') throw new DomainError('not_found', r.error);
      throw new DomainError('invalid_state', `comparing snapshots failed on host ${host.name}: ${r.error}`);
    }
    const ref = (s: SnapshotRow): SnapshotDiffView['to'] => ({ id: s.id, short_id: s.short_id, time: s.time });
    return {
      from: ref(from), to: ref(to),
      changed_files: r.changed_files ?? 0, added: r.added ?? NO_SIDE, removed: r.removed ?? NO_SIDE, total_changes: r.total_changes ?? r.changes.length,
      changes: r.changes, limit, offset, has_more: r.has_more,
    };
  }
}
