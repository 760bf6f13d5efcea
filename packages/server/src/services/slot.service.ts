import { CAPPED_KINDS, backendKeyOfUrl } from '@restic-manager/protocol';
import type { JobKind } from '@restic-manager/protocol';
import type { SlotRow } from '../repositories/slot.repository.js';
import type { Repositories, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { Ticker } from './ticker.js';
import { limitsOf, planGrants } from './slot-plan.js';

export interface SlotOptions {
  /** How long a held slot outlives its agent's socket before it is reclaimed (RM_SLOT_LEASE_SECONDS; default 120 s). */
  leaseMs?: number;
  /** How often leases are renewed and the queue re-examined (default a quarter of the lease, 1–15 s). */
  tickMs?: number;
}

/** The job fields a slot decision needs. */
export interface SlotJob {
  id: string;
  host_id: string;
  kind: string;
  repository_id: string | null;
}

/**
 * Concurrency slots (issue 21, decision 0013). The state lives in the database (`job_slots`), so a
 * restarted server or a second replica sees the same queue. A capped job either holds a slot or
 * waits for one in ticket order; a slot is released when its job ends (finished, cancelled,
 * agent_lost) and reclaimed when its lease runs out (the lease is renewed while the job's agent
 * is connected to this server, so a killed agent's slot frees itself).
 *
 * Granting: a server-dispatched job is handed to the `onGranted` listeners (JobService sends its
 * command.run); a job the agent's own scheduler fired gets a `slot.grant` frame.
 */
export class SlotService {
  private readonly granted: ((jobId: string) => Promise<void>)[] = [];
  private readonly leaseMs: number;
  private readonly ticker: Ticker;
  private pumping: Promise<void> = Promise.resolve();

  constructor(private readonly d: ServiceDeps, opts: SlotOptions = {}) {
    this.leaseMs = opts.leaseMs ?? 120_000;
    this.ticker = new Ticker(() => this.tick().catch((e: unknown) => this.d.log.error({ err: (e as Error).message }, 'concurrency slot tick failed')), opts.tickMs ?? Math.min(15_000, Math.max(1_000, Math.floor(this.leaseMs / 4))));
  }

  /** Called with the id of a server-dispatched job that was just granted a slot. Wired by the composition root. */
  onGranted(fn: (jobId: string) => Promise<void>): void {
    this.granted.push(fn);
  }

  start(): void {
    this.ticker.start();
  }

  stop(): void {
    this.ticker.stop();
  }

  /** Every cap key a job of this host against this repository (null: the host's primary) falls under. */
  async keysFor(hostId: string, repositoryId: string | null, r: Repositories = this.d.repos): Promise<string[]> {
    const host = await r.hosts.findById(hostId);
    if (!host) return ['fleet'];
    const tags = parseTags(host.tags);
    const repoId = repositoryId ?? host.repo_id;
    const repo = repoId ? await r.repos.findById(repoId) : undefined;
    const backend = repo ? backendKeyOfUrl(repo.url) : null;
    return ['fleet', ...tags.map((t) => `tag:${t}`), ...(backend ? [`backend:${backend}`] : [])];
  }

  /** True when a cap applies to jobs of `kind` on this host and repository (ScheduleSpec.capped). */
  async capped(hostId: string, repositoryId: string | null, kind: string, r: Repositories = this.d.repos): Promise<boolean> {
    if (!CAPPED_KINDS.has(kind as JobKind)) return false;
    const limits = limitsOf(await r.slots.listCaps());
    if (limits.size === 0) return false;
    return (await this.keysFor(hostId, repositoryId, r)).some((k) => limits.has(k));
  }

  /**
   * May this job start now? true when its kind is not capped, no cap applies, or it holds a slot
   * (granted now or before). false: it waits in the queue (its row is written, `origin` says who
   * starts it once granted). Never throws for a capped job's bookkeeping beyond store errors.
   */
  async admit(job: SlotJob, origin: 'server' | 'agent', r?: Repositories): Promise<boolean> {
    if (!CAPPED_KINDS.has(job.kind as JobKind)) return true;
    // Most jobs fall under no cap: they pass without the lock (which would serialise every run-now).
    const existing = await (r ?? this.d.repos).slots.find(job.id);
    if (existing?.state === 'holding') return true;
    if (!existing && !(await this.underCap(job, r ?? this.d.repos))) return true;
    // The count and the grant happen under the queue lock, in the caller's transaction or a new one.
    return r && r !== this.d.repos ? this.admitLocked(job, origin, r) : this.d.inTx((t) => this.admitLocked(job, origin, t));
  }

  /** Whether a cap is set for any key this job falls under. */
  private async underCap(job: SlotJob, r: Repositories): Promise<boolean> {
    const limits = limitsOf(await r.slots.listCaps());
    return limits.size > 0 && (await this.keysFor(job.host_id, job.repository_id, r)).some((k) => limits.has(k));
  }

  private async admitLocked(job: SlotJob, origin: 'server' | 'agent', r: Repositories): Promise<boolean> {
    await r.slots.lockQueue();
    const existing = await r.slots.find(job.id);
    if (existing?.state === 'holding') return true;
    const limits = limitsOf(await r.slots.listCaps());
    if (!existing) {
      const keys = await this.keysFor(job.host_id, job.repository_id, r);
      if (!keys.some((k) => limits.has(k))) return true;
      await r.slots.enqueue({ job_id: job.id, host_id: job.host_id, cap_keys: JSON.stringify(keys), state: 'waiting', origin, enqueued_at: iso(this.d.now()), granted_at: null, lease_expires_at: null });
    }
    const grants = planGrants(await r.slots.listSlots(), limits, (row) => this.d.agents.isConnected(row.host_id));
    if (!grants.some((g) => g.job_id === job.id)) return false;
    await r.slots.grant([job.id], iso(this.d.now()), iso(this.d.now() + this.leaseMs));
    return true;
  }

  /**
   * A job reported `job.started` without a grant (its agent waited out the control plane's
   * absence, an agent that predates caps, a schedule.set not yet re-sent after a tag change): it
   * now holds a slot of every cap it falls under, over the cap if need be, so later jobs wait.
   */
  async started(jobId: string): Promise<void> {
    // Unlocked first: nothing to do for a job that holds its slot or falls under no cap.
    const row = await this.d.repos.slots.find(jobId);
    if (row?.state === 'holding') return;
    if (!row) {
      const job = await this.d.repos.jobs.findById(jobId);
      if (!job || !CAPPED_KINDS.has(job.kind as JobKind) || !(await this.underCap(job, this.d.repos))) return;
    }
    await this.d.inTx(async (r) => {
      await r.slots.lockQueue();
      await this.startedLocked(jobId, r);
    });
  }

  private async startedLocked(jobId: string, r: Repositories): Promise<void> {
    const row = await r.slots.find(jobId);
    const at = iso(this.d.now());
    const until = iso(this.d.now() + this.leaseMs);
    if (row) {
      if (row.state === 'waiting') await r.slots.grant([jobId], at, until);
      return;
    }
    const job = await r.jobs.findById(jobId);
    if (!job || !CAPPED_KINDS.has(job.kind as JobKind)) return;
    const limits = limitsOf(await r.slots.listCaps());
    if (limits.size === 0) return;
    const keys = await this.keysFor(job.host_id, job.repository_id, r);
    if (!keys.some((k) => limits.has(k))) return;
    await r.slots.enqueue({ job_id: jobId, host_id: job.host_id, cap_keys: JSON.stringify(keys), state: 'holding', origin: 'agent', enqueued_at: at, granted_at: at, lease_expires_at: until });
  }

  /**
   * The job ended (or was cancelled, or lost): its slot or its place in the queue is freed and
   * the queue moves. An agent's scheduled job still waiting for its grant is cancelled on the
   * agent too (the server ended it, e.g. a cancel before it started).
   */
  async release(jobId: string): Promise<void> {
    const row = await this.d.repos.slots.remove(jobId);
    if (!row) return;
    if (row.state === 'waiting' && row.origin === 'agent') this.d.agents.send(row.host_id, { type: 'command.cancel', job_id: jobId });
    await this.pump();
  }

  /** Grants every slot that can be granted now, one pass at a time (serialised in this process). */
  pump(): Promise<void> {
    const next = this.pumping.then(() => this.pumpOnce());
    this.pumping = next.catch(() => undefined);
    return next;
  }

  private async pumpOnce(): Promise<void> {
    const now = this.d.now();
    const grants = await this.d.inTx(async (r) => {
      await r.slots.lockQueue();
      const reclaimed = await r.slots.reclaimExpired(iso(now));
      for (const s of reclaimed) this.d.log.warn({ job_id: s.job_id, host_id: s.host_id }, 'a concurrency slot was reclaimed: its lease ran out (the agent holding it is gone)');
      const limits = limitsOf(await r.slots.listCaps());
      const g = planGrants(await r.slots.listSlots(), limits, (row) => this.d.agents.isConnected(row.host_id));
      await r.slots.grant(g.map((x) => x.job_id), iso(now), iso(now + this.leaseMs));
      return g;
    });
    for (const g of grants) await this.hand(g);
  }

  /** Tells the holder of a fresh grant. */
  private async hand(g: SlotRow): Promise<void> {
    if (g.origin === 'agent') {
      if (!this.d.agents.send(g.host_id, { type: 'slot.grant', job_id: g.job_id })) this.d.log.warn({ job_id: g.job_id }, 'slot granted to an agent that just went away; its lease will lapse');
      return;
    }
    for (const fn of this.granted) {
      await fn(g.job_id).catch((e: unknown) => this.d.log.error({ job_id: g.job_id, err: (e as Error).message }, 'dispatch of a granted job failed'));
    }
  }

  /** Sends `slot.grant` again for a job that already holds its slot (the agent asked again after a reconnect). */
  regrant(hostId: string, jobId: string): void {
    this.d.agents.send(hostId, { type: 'slot.grant', job_id: jobId });
  }

  /**
   * Drops the rows of jobs that ended or are gone without a release (e.g. their host was
   * deleted), renews the leases of slots whose agents are connected here, then moves the queue
   * (reclaiming lapsed leases).
   */
  async tick(): Promise<void> {
    for (const row of await this.d.repos.slots.listSlots()) {
      const job = await this.d.repos.jobs.findById(row.job_id);
      if (!job || (job.status !== 'queued' && job.status !== 'running')) await this.d.repos.slots.remove(row.job_id);
    }
    const rows = await this.d.repos.slots.listSlots();
    const live = [...new Set(rows.filter((r) => r.state === 'holding' && this.d.agents.isConnected(r.host_id)).map((r) => r.host_id))];
    await this.d.repos.slots.renew(live, iso(this.d.now() + this.leaseMs));
    await this.pump();
  }
}

function parseTags(raw: string): string[] {
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}
