import type { LedgerEntryView, SnapshotInfo } from '@restic-manager/protocol';
import type { HostRow } from '../repositories/host.repository.js';
import type { IntegrityRow, LedgerRow } from '../repositories/snapshot-ledger.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, Repositories, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import type { FleetService } from './fleet.service.js';

/** The alerts a freeze raises (critical; resolved by the admin's acknowledgement). */
export type FreezeAlertKind = 'snapshot_vanished' | 'repository_keys_changed';
const FREEZE_KINDS: readonly FreezeAlertKind[] = ['snapshot_vanished', 'repository_keys_changed'];
/** Vanished snapshots named one by one in an alert; the rest are counted. */
const NAMED_IN_ALERT = 10;
/** A restore created this recently may still be adding its temporary key (the id is stored once the source agent answers). */
const KEY_ADD_WINDOW_MS = 2 * 60_000;

/** Where a report came from: the host, the repository it lists, and when the listing was made. */
export interface ReportOrigin {
  host: Pick<HostRow, 'id' | 'name'>;
  repoId: string;
  /** The listing's time: the reporting job's finish time (the agent lists right after it), else the time the server got it. */
  at: string;
}

/**
 * The snapshot ledger (issue 16, docs/recoverability.md): every snapshot each repository ever
 * listed, kept after the snapshot is gone. A full listing (`snapshots.report` is always the
 * whole repository: the agent runs `snapshots` without a host or path filter) marks the ledger's
 * present snapshots it lacks as gone: removed by the last forget/prune job against the repository
 * that finished since the snapshot was last seen, or — with none — vanished, which raises
 * `snapshot_vanished` and freezes forget/prune on the repository. A change of the repository's
 * key ids or config id not made by the server's own temporary restore keys raises
 * `repository_keys_changed` and freezes likewise. Only an admin's acknowledgement (audited)
 * lifts a freeze. A listing older than the last one applied (a replay) changes nothing.
 */
export class SnapshotLedgerService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
  ) {}

  /** The repository a report of `host` lists and the listing time (null: the host has no repository). */
  async originOf(host: HostRow, jobId: string | undefined): Promise<ReportOrigin | null> {
    const job = jobId ? await this.d.repos.jobs.findById(jobId) : undefined;
    const fresh = await this.d.repos.hosts.findById(host.id);
    const repoId = (job?.host_id === host.id ? job.repository_id : null) ?? fresh?.repo_id ?? null;
    if (!repoId || !(await this.d.repos.repos.findById(repoId))) return null;
    const finished = job?.host_id === host.id && job.finished_at ? Date.parse(job.finished_at) : NaN;
    // One format, so listing times compare as strings (an agent may write another ISO-8601 offset).
    return { host, repoId, at: iso(Number.isFinite(finished) ? finished : this.d.now()) };
  }

  /** Applies a full snapshot listing of the repository to its ledger. */
  async snapshotsReported(o: ReportOrigin, snapshots: readonly SnapshotInfo[]): Promise<void> {
    const vanished = await this.d.inTx(async (r) => {
      const st = await r.ledger.integrity(o.repoId);
      if (st?.reported_at && o.at < st.reported_at) {
        this.d.log.info({ repo_id: o.repoId, host_id: o.host.id, listed_at: o.at, newest: st.reported_at }, 'snapshot listing older than the last one applied (a replay); the ledger is unchanged');
        return [];
      }
      const listed = new Set(snapshots.map((s) => s.id));
      const present = await r.ledger.present(o.repoId);
      const known = new Set(present.map((p) => p.snapshot_id));
      const gone = present.filter((p) => !listed.has(p.snapshot_id));
      // New (or listed again after they were gone) snapshots are written one by one; the rest in one statement below.
      await r.ledger.seen(o.repoId, snapshots.filter((s) => !known.has(s.id)).map((s) => ({
        snapshot_id: s.id, short_id: s.short_id ?? s.id.slice(0, 8), time: s.time, hostname: s.hostname, paths: JSON.stringify(s.paths),
        tree: s.tree ?? null, size_bytes: s.size_bytes ?? null,
      })), o.at);
      await r.ledger.setIntegrity(o.repoId, { reported_at: o.at });
      if (gone.length === 0) {
        await r.ledger.touchPresent(o.repoId, o.at);
        return [];
      }
      const links = await r.repos.linksOfRepo(o.repoId);
      const primaryOf = links.filter((l) => l.is_primary === 1).map((l) => l.host_id);
      // One query per distinct last_seen_at (usually one: the previous listing).
      const byJob = new Map<string | null, string[]>();
      const authorised = new Map<string, string | null>();
      for (const g of gone) {
        if (!authorised.has(g.last_seen_at)) authorised.set(g.last_seen_at, (await r.jobs.lastMaintenanceSince(o.repoId, primaryOf, g.last_seen_at))?.id ?? null);
        const jobId = authorised.get(g.last_seen_at) ?? null;
        byJob.set(jobId, [...(byJob.get(jobId) ?? []), g.snapshot_id]);
      }
      for (const [jobId, ids] of byJob) await r.ledger.markGone(o.repoId, ids, o.at, jobId);
      await r.ledger.touchPresent(o.repoId, o.at);
      const lost = gone.filter((g) => (authorised.get(g.last_seen_at) ?? null) === null);
      if (lost.length) await this.freeze(r, o, 'snapshot_vanished', { vanished: lost.length });
      return lost;
    });
    if (vanished.length === 0) return;
    const repo = await this.d.repos.repos.findById(o.repoId);
    this.d.log.warn({ repo_id: o.repoId, host_id: o.host.id, vanished: vanished.length }, 'snapshots vanished without an authorised forget/prune; forget/prune on the repository is frozen');
    await this.fleet.setAlert(o.host.id, 'snapshot_vanished', true, vanishedMessage(repo?.name ?? o.repoId, o, vanished), 'critical');
  }

  /** Compares reported key ids / config id with the previous ones (repo.stats; either may be absent). */
  async keysReported(o: ReportOrigin, keyIds: readonly string[] | undefined, configId: string | undefined): Promise<void> {
    if (!keyIds && !configId) return;
    const change = await this.d.inTx(async (r) => {
      const st = await r.ledger.integrity(o.repoId);
      if (st?.keys_reported_at && o.at < st.keys_reported_at) return null;
      const changes: string[] = [];
      if (configId && st?.config_id && !sameId(configId, st.config_id)) changes.push(`config id changed from ${st.config_id.slice(0, 8)} to ${configId.slice(0, 8)}`);
      if (keyIds && st?.key_ids) {
        const before = JSON.parse(st.key_ids) as string[];
        const links = await r.repos.linksOfRepo(o.repoId);
        const ours = (await r.restoreCredentials.temporaryKeysOf(links.filter((l) => l.is_primary === 1).map((l) => l.host_id)))
          .flatMap((k) => (k.key_id ? [k.key_id] : []));
        const foreign = (k: string) => !ours.some((x) => sameId(x, k));
        const added = keyIds.filter((k) => !before.some((b) => sameId(b, k))).filter(foreign);
        const removed = before.filter((b) => !keyIds.some((k) => sameId(b, k))).filter(foreign);
        if (added.length && (await r.jobs.countCreatedSince(['restore', 'restore_drill'], iso(this.d.now() - KEY_ADD_WINDOW_MS))) > 0) {
          // A restore (or a restore drill on another host) may be adding its temporary key right now: compare again with the next listing.
          return null;
        }
        if (added.length) changes.push(`key(s) added: ${added.map((k) => k.slice(0, 8)).join(', ')}`);
        if (removed.length) changes.push(`key(s) removed: ${removed.map((k) => k.slice(0, 8)).join(', ')}`);
      }
      await r.ledger.setIntegrity(o.repoId, {
        keys_reported_at: o.at,
        ...(keyIds ? { key_ids: JSON.stringify(keyIds) } : {}),
        ...(configId ? { config_id: configId } : {}),
      });
      if (!changes.length) return null;
      const text = `${changes.join('; ')} (not by the server's temporary restore keys)`;
      await this.freeze(r, o, 'repository_keys_changed', { keysChange: text });
      return text;
    });
    if (!change) return;
    const repo = await this.d.repos.repos.findById(o.repoId);
    this.d.log.warn({ repo_id: o.repoId, host_id: o.host.id }, 'repository keys or config changed; forget/prune on the repository is frozen');
    await this.fleet.setAlert(o.host.id, 'repository_keys_changed', true,
      `repository ${repo?.name ?? o.repoId} (reported by ${o.host.name}): ${change}; forget/prune on it is frozen until an admin acknowledges (repository page, or POST /api/repositories/${o.repoId}/ledger/acknowledge)`, 'critical');
  }

  /**
   * Why a forget/prune against the repository (`repositoryId`, or the host's primary when null)
   * must not run, or null when it may. Other kinds are never refused here.
   */
  async refusal(hostId: string, kind: string, repositoryId: string | null, r: Repositories = this.d.repos): Promise<string | null> {
    if (kind !== 'forget' && kind !== 'prune') return null;
    const repoId = repositoryId ?? (await r.hosts.findById(hostId))?.repo_id ?? null;
    if (!repoId) return null;
    const st = await r.ledger.integrity(repoId);
    if (!st?.frozen_since) return null;
    const repo = await r.repos.findById(repoId);
    return `${kind} refused: repository ${repo?.name ?? repoId} is ${st.frozen_reason ?? `frozen since ${st.frozen_since}`}; an admin must acknowledge first (POST /api/repositories/${repoId}/ledger/acknowledge)`;
  }

  /** An admin acknowledges what froze the repository: vanished snapshots and key changes are marked seen, the freeze lifted, the alerts resolved (audited). */
  async acknowledge(actor: Actor, repoId: string): Promise<{ acknowledged_snapshots: number; keys_change_acknowledged: boolean }> {
    if (!(actor.kind === 'user' && actor.role === 'admin')) throw new DomainError('forbidden', 'only admins may acknowledge a frozen repository');
    const repo = await this.d.repos.repos.findById(repoId);
    if (!repo) throw notFound('repository', repoId);
    const result = await this.d.inTx(async (r) => {
      const st = await r.ledger.integrity(repoId);
      if (!st?.frozen_since) throw new DomainError('invalid_state', `repository ${repo.name} is not frozen; there is nothing to acknowledge`, { repository_id: 'not frozen' });
      const at = iso(this.d.now());
      const n = await r.ledger.acknowledgeVanished(repoId, at);
      await r.ledger.setIntegrity(repoId, { frozen_since: null, frozen_reason: null, keys_changed_at: null, keys_change: null, alert_host_ids: '[]' });
      await this.audit.record(actor, 'repository.ledger.acknowledge', { kind: 'repository', id: repoId }, {
        frozen_since: st.frozen_since, reason: st.frozen_reason, vanished_snapshots: n, keys_change: st.keys_change,
      }, r.audit);
      return { n, st };
    });
    // Resolve the alerts of hosts that no other frozen repository still holds an alert on.
    const stillFrozen = await this.d.repos.ledger.frozen();
    const held = new Set(stillFrozen.flatMap((s) => JSON.parse(s.alert_host_ids) as string[]));
    for (const hostId of JSON.parse(result.st.alert_host_ids) as string[]) {
      if (held.has(hostId) || !(await this.d.repos.hosts.findById(hostId))) continue;
      for (const kind of FREEZE_KINDS) await this.fleet.setAlert(hostId, kind, false, '');
    }
    return { acknowledged_snapshots: result.n, keys_change_acknowledged: result.st.keys_change !== null };
  }

  /** A page of the repository's ledger, gone snapshots first. */
  async list(repoId: string, gone: boolean | undefined, limit: number, offset: number): Promise<{ items: LedgerEntryView[]; total: number; limit: number; offset: number }> {
    if (!(await this.d.repos.repos.findById(repoId))) throw notFound('repository', repoId);
    const { rows, total } = await this.d.repos.ledger.list(repoId, gone, limit, offset);
    return { items: rows.map(ledgerView), total, limit, offset };
  }

  /** Marks the repository frozen (kept from the first cause), records the reason and the alerting host, audits it. */
  private async freeze(r: Repositories, o: ReportOrigin, kind: FreezeAlertKind, cause: { vanished?: number; keysChange?: string }): Promise<void> {
    const st: IntegrityRow | undefined = await r.ledger.integrity(o.repoId);
    const now = iso(this.d.now());
    const since = st?.frozen_since ?? now;
    const hosts = new Set(JSON.parse(st?.alert_host_ids ?? '[]') as string[]).add(o.host.id);
    const keysChange = cause.keysChange ?? st?.keys_change ?? null;
    const vanished = await r.ledger.countUnacknowledgedVanished(o.repoId);
    const parts = [
      ...(vanished ? [`${vanished} snapshot${vanished === 1 ? '' : 's'} vanished without an authorised forget`] : []),
      ...(keysChange ? [`the repository's ${keysChange}`] : []),
    ];
    await r.ledger.setIntegrity(o.repoId, {
      frozen_since: since, frozen_reason: `frozen since ${since}: ${parts.join('; ') || 'snapshots vanished without an authorised forget'}`,
      alert_host_ids: JSON.stringify([...hosts]),
      ...(cause.keysChange ? { keys_changed_at: now, keys_change: cause.keysChange } : {}),
    });
    await this.audit.record({ kind: 'system' }, 'repository.frozen', { kind: 'repository', id: o.repoId }, {
      cause: kind, host_id: o.host.id, frozen_since: since, ...(cause.vanished ? { vanished_snapshots: cause.vanished } : {}), ...(cause.keysChange ? { keys_change: cause.keysChange } : {}),
    }, r.audit);
  }
}

/** Key and config ids may be full or short hex: equal when one starts with the other. */
function sameId(a: string, b: string): boolean {
  return a.length <= b.length ? b.startsWith(a) : a.startsWith(b);
}

function vanishedMessage(repoName: string, o: ReportOrigin, lost: readonly Pick<LedgerRow, 'short_id' | 'time' | 'paths' | 'last_seen_at'>[]): string {
  const named = lost.slice(0, NAMED_IN_ALERT).map((s) => `${s.short_id} (${s.time}, ${(JSON.parse(s.paths) as string[]).join(', ')}; last seen ${s.last_seen_at})`);
  const more = lost.length > NAMED_IN_ALERT ? ` and ${lost.length - NAMED_IN_ALERT} more` : '';
  return `${lost.length} snapshot${lost.length === 1 ? '' : 's'} of repository ${repoName} vanished without an authorised forget/prune (listed by ${o.host.name} at ${o.at}): ${named.join('; ')}${more}. `
    + `Forget/prune on it is frozen until an admin acknowledges (repository page, or POST /api/repositories/${o.repoId}/ledger/acknowledge)`;
}

export function ledgerView(r: LedgerRow): LedgerEntryView {
  return {
    snapshot_id: r.snapshot_id, short_id: r.short_id, time: r.time, hostname: r.hostname, paths: JSON.parse(r.paths) as string[], tree: r.tree,
    size_bytes: r.size_bytes === null ? null : Number(r.size_bytes), first_seen_at: r.first_seen_at, last_seen_at: r.last_seen_at, gone_at: r.gone_at,
    removed_by_job_id: r.removed_by_job_id, acknowledged_at: r.acknowledged_at,
  };
}
