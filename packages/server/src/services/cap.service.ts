import type { CapList, CapView, PutCapsRequest, QueueCap, QueueJob, QueueView } from '@restic-manager/protocol';
import { PutCapsRequest as PutCapsSchema, backendKeyOfUrl, capKeyOf } from '@restic-manager/protocol';
import type { CapRow } from '../repositories/slot.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError } from './errors.js';
import type { ScheduleService } from './schedule.service.js';
import { aheadIn, keysOf } from './slot-plan.js';
import type { SlotService } from './slot.service.js';

/** How many hosts and repositories are read to tell known tags and backend keys (enough for any fleet this server handles). */
const SCAN_LIMIT = 100_000;

/**
 * Concurrency caps as an admin sets them, and the queue view (issue 21, docs/schedules.md
 * "Concurrency caps"). A change re-sends every host's schedule.set, since `ScheduleSpec.capped`
 * may change with it, and moves the queue (a raised cap grants waiting jobs at once).
 */
export class CapService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly slots: SlotService,
    private readonly schedules: ScheduleService,
  ) {}

  async list(): Promise<CapList> {
    const { tags, backends } = await this.known();
    const items = (await this.d.repos.slots.listCaps()).map((c) => this.view(c, tags, backends));
    return { items, backend_keys: [...backends].sort(), tags: [...tags].sort() };
  }

  /** Replaces every cap (admin). 400 naming the field (`caps.0.max_jobs`) on bad input. */
  async put(actor: Actor, raw: unknown): Promise<CapList> {
    const parsed = PutCapsSchema.safeParse(raw);
    if (!parsed.success) {
      const fields = Object.fromEntries(parsed.error.issues.map((i) => [i.path.join('.') || 'body', i.message]));
      const first = parsed.error.issues[0];
      throw new DomainError('validation_failed', first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'invalid caps', fields);
    }
    const body: PutCapsRequest = parsed.data;
    const at = iso(this.d.now());
    await this.d.inTx(async (r) => {
      await r.slots.replaceCaps(body.caps.map((c) => ({ scope: c.scope, cap_key: c.key, max_jobs: c.max_jobs, updated_at: at })));
      await this.audit.record(actor, 'caps.update', null, { caps: body.caps.map((c) => ({ key: capKeyOf(c.scope, c.key), max_jobs: c.max_jobs })) }, r.audit);
    });
    await this.pushSchedules();
    await this.slots.pump();
    return this.list();
  }

  /** GET /api/queue: per cap, the jobs holding its slots and the jobs waiting, in order, each waiting one with `ahead`. */
  async queue(): Promise<QueueView> {
    const caps = await this.d.repos.slots.listCaps();
    const rows = await this.d.repos.slots.listSlots();
    const names = new Map<string, string>();
    for (const id of new Set(rows.map((r) => r.host_id))) names.set(id, (await this.d.repos.hosts.findById(id))?.name ?? id);
    const kinds = new Map<string, string>();
    for (const r of rows) kinds.set(r.job_id, (await this.d.repos.jobs.findById(r.job_id))?.kind ?? 'unknown');
    const out: QueueCap[] = caps.map((c) => {
      const key = capKeyOf(c.scope as CapView['scope'], c.cap_key);
      const mine = rows.filter((r) => keysOf(r).includes(key));
      const ahead = aheadIn(rows, key, c.max_jobs);
      const job = (r: (typeof rows)[number], since: string): QueueJob => ({ job_id: r.job_id, host_id: r.host_id, host_name: names.get(r.host_id) ?? r.host_id, kind: kinds.get(r.job_id) ?? 'unknown', since });
      return {
        scope: c.scope as CapView['scope'], key: c.cap_key, max_jobs: c.max_jobs,
        running: mine.filter((r) => r.state === 'holding').map((r) => job(r, r.granted_at ?? r.enqueued_at)),
        waiting: mine.filter((r) => r.state === 'waiting').map((r) => ({ ...job(r, r.enqueued_at), ahead: ahead.get(r.job_id) ?? 0 })),
      };
    });
    return { caps: out, waiting_total: rows.filter((r) => r.state === 'waiting').length };
  }

  /** A waiting job's place: the most slot releases it is behind in any of its caps; null when it is not waiting for a slot. */
  async placeOf(jobId: string): Promise<number | null> {
    const rows = await this.d.repos.slots.listSlots();
    const mine = rows.find((r) => r.job_id === jobId);
    if (mine?.state !== 'waiting') return null;
    let ahead = 0;
    for (const c of await this.d.repos.slots.listCaps()) {
      const key = capKeyOf(c.scope as CapView['scope'], c.cap_key);
      if (keysOf(mine).includes(key)) ahead = Math.max(ahead, aheadIn(rows, key, c.max_jobs).get(jobId) ?? 0);
    }
    return ahead;
  }

  /** Bumps every host's schedule version and sends schedule.set to the connected ones. */
  private async pushSchedules(): Promise<void> {
    const { rows } = await this.d.repos.hosts.list({}, SCAN_LIMIT, 0);
    for (const h of rows) {
      await this.d.repos.hosts.update(h.id, { schedule_version: h.schedule_version + 1 });
      await this.schedules.sendTo(h.id);
    }
  }

  private async known(): Promise<{ tags: Set<string>; backends: Set<string> }> {
    const tags = new Set<string>();
    for (const h of (await this.d.repos.hosts.list({}, SCAN_LIMIT, 0)).rows) for (const t of JSON.parse(h.tags) as string[]) tags.add(t);
    const backends = new Set<string>();
    for (const r of (await this.d.repos.repos.list(SCAN_LIMIT, 0)).rows) {
      const k = backendKeyOfUrl(r.url);
      if (k) backends.add(k);
    }
    return { tags, backends };
  }

  private view(c: CapRow, tags: Set<string>, backends: Set<string>): CapView {
    const scope = c.scope as CapView['scope'];
    const known = scope === 'fleet' || (scope === 'tag' ? tags.has(c.cap_key) : backends.has(c.cap_key));
    return { scope, key: c.cap_key, max_jobs: c.max_jobs, known, updated_at: c.updated_at };
  }
}
