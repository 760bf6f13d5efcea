import crypto from 'node:crypto';
import type { AgentMessage, QuarantinedReportView } from '@restic-manager/protocol';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import type { FleetService } from './fleet.service.js';

/** Failed attempts to store one numbered report before it is set aside (if the store takes other writes). */
export const QUARANTINE_AFTER = 3;
/** Reports whose attempts are remembered at once; the oldest is forgotten beyond it. */
const MAX_TRACKED = 10_000;
/** Longest frame kept (JSON characters); longer ones are cut and marked. */
const MAX_FRAME_CHARS = 64 * 1024;

export type StoreVerdict = 'quarantined' | 'retry';

/**
 * Poison reports (issue 22). A numbered report that the store refuses with a non-domain error is
 * normally not acknowledged, so the agent replays it after reconnecting: right for a store that is
 * down or full, wrong for a report that can never be stored — it would block the agent's outbox
 * forever. After QUARANTINE_AFTER failures of the same report, and only if the store still takes
 * another write (the host's last_seen_at), the report is set aside in `quarantined_reports`,
 * acknowledged, and `report_quarantined` is raised. An admin reads and discards them.
 */
export class ReportQuarantineService {
  private readonly attempts = new Map<string, number>();

  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
  ) {}

  /** A numbered report of `host` failed to store with `err`: set it aside, or let it be replayed. Never throws. */
  async failed(host: { id: string; name: string }, msg: AgentMessage, outboxSeq: number, err: Error): Promise<StoreVerdict> {
    const key = `${host.id}\u0000${outboxSeq}`;
    const n = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.delete(key);
    this.attempts.set(key, n);
    if (this.attempts.size > MAX_TRACKED) this.attempts.delete(this.attempts.keys().next().value as string);
    if (n < QUARANTINE_AFTER || !(await this.storeWritable(host.id))) return 'retry';
    try {
      let frame = JSON.stringify(msg);
      if (frame.length > MAX_FRAME_CHARS) frame = `${frame.slice(0, MAX_FRAME_CHARS)}… (cut at ${MAX_FRAME_CHARS} characters)`;
      const error = err.message.slice(0, 1000);
      await this.d.repos.quarantine.insert({ id: crypto.randomUUID(), host_id: host.id, outbox_seq: outboxSeq, type: msg.type, frame, error, attempts: n, created_at: iso(this.d.now()) });
      this.attempts.delete(key);
      await this.fleet.setAlert(host.id, 'report_quarantined', true,
        `a ${msg.type} report from ${host.name} could not be stored after ${n} attempts while the store took other writes, and was set aside: ${error.slice(0, 300)} (GET /api/hosts/${host.id}/quarantined-reports)`);
      return 'quarantined';
    } catch {
      return 'retry';
    }
  }

  private async storeWritable(hostId: string): Promise<boolean> {
    try {
      await this.d.repos.hosts.update(hostId, { last_seen_at: iso(this.d.now()) });
      return true;
    } catch {
      return false;
    }
  }

  async list(hostId: string, limit: number, offset: number): Promise<{ items: QuarantinedReportView[]; total: number; limit: number; offset: number }> {
    if (!(await this.d.repos.hosts.findById(hostId))) throw notFound('host', hostId);
    const rows = await this.d.repos.quarantine.listForHost(hostId, limit, offset);
    return { items: rows.map((r) => ({ ...r })), total: await this.d.repos.quarantine.countForHost(hostId), limit, offset };
  }

  /** Discards the host's quarantined reports (audited) and resolves its alert. */
  async discard(actor: Actor, hostId: string): Promise<{ discarded: number }> {
    if (!(actor.kind === 'user' && actor.role === 'admin')) throw new DomainError('forbidden', 'only admins may discard quarantined reports');
    if (!(await this.d.repos.hosts.findById(hostId))) throw notFound('host', hostId);
    const discarded = await this.d.repos.quarantine.deleteForHost(hostId);
    await this.audit.record(actor, 'host.quarantined_reports.discard', { kind: 'host', id: hostId }, { discarded });
    await this.fleet.setAlert(hostId, 'report_quarantined', false, '');
    return { discarded };
  }
}
