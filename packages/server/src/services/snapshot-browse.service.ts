import type { SnapshotLs } from '@restic-manager/protocol';
import type { AgentRequests } from './agent-requests.js';
import type { ServiceDeps } from './context.js';
import { DomainError, notFound } from './errors.js';

/** How long the server waits for a directory listing. */
export const LS_TIMEOUT_MS = 15_000;


export interface LsPageView {
  snapshot_id: string;
  path: string;
  entries: { name: string; path: string; type: string; size: number | null; mtime: string | null; mode: number | null }[];
  limit: number;
  offset: number;
  has_more: boolean;
}

/**
 * Browsing a snapshot (restore wizard): resolves the snapshot among the host's cached ones,
 * asks the host's agent for one page of one directory (`snapshot.ls`) and maps its errors.
 * Throws not_found (host, snapshot, path), agent_unavailable (offline / no answer) or invalid_state.
 */
export class SnapshotBrowseService {
  /** How long to wait for the agent's answer (tests shorten it). */
  timeoutMs = LS_TIMEOUT_MS;

  constructor(private readonly d: ServiceDeps, private readonly requests: AgentRequests) {}

  /** The full id of a cached snapshot of the host, from a full or short (prefix) id. */
  async resolveSnapshot(hostId: string, snapshotId: string): Promise<{ id: string; paths: string[]; time: string; short_id: string } | undefined> {
    const want = snapshotId.toLowerCase();
    if (!/^[0-9a-f]{8,64}$/.test(want)) return undefined;
    const hits = await this.d.repos.snapshots.findByPrefix(hostId, want);
    const s = hits.length === 1 ? hits[0] : hits.find((h) => h.id === want);
    return s ? { id: s.id, paths: JSON.parse(s.paths) as string[], time: s.time, short_id: s.short_id } : undefined;
  }

  async ls(hostId: string, snapshotId: string, path: string, limit: number, offset: number): Promise<LsPageView> {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    const snap = await this.resolveSnapshot(hostId, snapshotId);
    if (!snap) throw new DomainError('not_found', `snapshot ${snapshotId} is not among the snapshots of host ${host.name} (refresh them with a snapshots job)`);
    const dir = path.length > 1 ? path.replace(/\/+$/, '') : '/';
    if (dir.split('/').some((s) => s === '..' || s === '.')) throw new DomainError('validation_failed', 'path must not contain . or .. segments', { path: 'no . or .. segments' });
    const r = await this.requests.request<SnapshotLs>(hostId, { type: 'snapshot.ls', snapshot_id: snap.id, path: dir, limit, offset }, this.timeoutMs);
    if (r.error) {
      if (r.error_kind === 'unknown_snapshot' || r.error_kind === 'not_found') throw new DomainError('not_found', r.error);
      throw new DomainError('invalid_state', `listing failed on host ${host.name}: ${r.error}`);
    }
    const join = (n: string): string => (dir === '/' ? `/${n}` : `${dir}/${n}`);
    return { snapshot_id: snap.id, path: dir, entries: r.entries.map((e) => ({ ...e, path: join(e.name) })), limit, offset, has_more: r.has_more };
  }
}
