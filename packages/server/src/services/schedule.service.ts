import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import type { DatabaseTarget, ScheduleInput, ScheduleSpec } from '@restic-manager/protocol';
import { TimeZoneName, hasLabelSelector } from '@restic-manager/protocol';
import type { ScheduleRow } from '../repositories/schedule.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import { scheduleView } from './views.js';
import type { SchedulePings } from './schedule-pings.js';
import { agentHasFeature, databaseViews, databasesRefusal, mergeDatabasePasswords } from './schedule-databases.js';
import { checkWindowSet, windowSetsFor } from './backup-windows.js';

/**
 * Schedules per host. Every change bumps the host's schedule_version and pushes the full list
 * as `schedule.set` when the agent is connected; otherwise the push happens on its next hello.
 * Hooks are sealed at rest, only admins may set them, and only on backup schedules (§14.3).
 */
export class ScheduleService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    /** Issue 21: the per-schedule ping URL (sealed, admin-only, SSRF-guarded). */
    private readonly pings?: SchedulePings,
    /** Concurrency caps (issue 21): marks the schedules a cap applies to (`ScheduleSpec.capped`). Absent = none. */
    private readonly caps?: { capped(hostId: string, repositoryId: string | null, kind: string): Promise<boolean> },
  ) {}

  async list(hostId: string) {
    if (!(await this.d.repos.hosts.findById(hostId))) throw notFound('host', hostId);
    return { items: (await this.d.repos.schedules.listForHost(hostId)).map((r) => this.view(r)) };
  }

  async create(actor: Actor, hostId: string, input: ScheduleInput) {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    this.validate(actor, input);
    this.checkAgent(host, input);
    const repositoryId = await this.checkRepository(hostId, input);
    const now = iso(this.d.now());
    const id = randomUUID();
    await this.pings?.check(isAdmin(actor), input.healthcheck_url);
    await this.d.repos.schedules.insert({ id, host_id: hostId, ...this.columns(id, input, null), repository_id: repositoryId, databases_enc: this.sealDatabases(id, input.databases), created_at: now, updated_at: now });
    await this.pings?.store(id, input.healthcheck_url);
    await this.audit.record(actor, 'schedule.create', { kind: 'schedule', id }, describe(hostId, input));
    await this.push(hostId);
    return this.view((await this.d.repos.schedules.findById(id))!);
  }

  /**
   * Replaces a schedule (PUT semantics) and pushes the bumped version. Non-admins cannot touch
   * hooks: theirs are kept. `keep` lets an admin's form leave a stored hook as it is when its
   * (never pre-filled) field stays empty; a kind other than backup drops hooks (backup only).
   */
  async update(actor: Actor, id: string, input: ScheduleInput, keep: KeepHooks = {}) {
    const cur = await this.d.repos.schedules.findById(id);
    if (!cur) throw notFound('schedule', id);
    this.validate(actor, input);
    const host = await this.d.repos.hosts.findById(cur.host_id);
    if (host) this.checkAgent(host, input);
    const repositoryId = await this.checkRepository(cur.host_id, input);
    const hooked = cur.pre_hook_enc != null || cur.post_hook_enc != null || cur.run_as != null;
    if (!isAdmin(actor) && hooked && input.kind !== cur.kind) throw new DomainError('forbidden', 'this schedule has hooks: only admins may change its kind');
    const cols = this.columns(id, input, isAdmin(actor) ? null : cur);
    if (isAdmin(actor) && input.kind === 'backup') {
      if (keep.pre_hook && input.pre_hook == null) cols.pre_hook_enc = cur.pre_hook_enc;
      if (keep.post_hook && input.post_hook == null) cols.post_hook_enc = cur.post_hook_enc;
      if (keep.run_as && input.run_as == null) cols.run_as = cur.run_as;
    }
    await this.pings?.check(isAdmin(actor), input.healthcheck_url);
    const dbs = input.kind === 'backup' ? mergeDatabasePasswords(input.databases, this.openDatabases(cur)) : [];
    await this.d.repos.schedules.update(id, { ...cols, repository_id: repositoryId, databases_enc: this.sealDatabases(id, dbs), updated_at: iso(this.d.now()) });
    await this.pings?.store(id, input.healthcheck_url);
    await this.audit.record(actor, 'schedule.update', { kind: 'schedule', id }, describe(cur.host_id, input));
    await this.push(cur.host_id);
    return this.view((await this.d.repos.schedules.findById(id))!);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    const cur = await this.d.repos.schedules.findById(id);
    if (!cur) throw notFound('schedule', id);
    await this.d.repos.schedules.delete(id);
    await this.audit.record(actor, 'schedule.delete', { kind: 'schedule', id }, { host_id: cur.host_id });
    await this.push(cur.host_id);
  }

  private validate(actor: Actor, input: ScheduleInput): void {
    const tz = input.time_zone === null ? null : TimeZoneName.safeParse(input.time_zone);
    if (tz && !tz.success) throw new DomainError('validation_failed', `time_zone: ${tz.error.issues[0]?.message ?? 'invalid'}`, { time_zone: tz.error.issues[0]?.message ?? 'invalid' });
    try {
      new Cron(input.cron_expr, { paused: true, ...(input.time_zone ? { timezone: input.time_zone } : {}) });
    } catch (e) {
      throw new DomainError('validation_failed', `cron_expr: ${(e as Error).message}`, { cron_expr: (e as Error).message });
    }
    const hooks = input.pre_hook != null || input.post_hook != null;
    if (hooks && input.kind !== 'backup') {
      throw new DomainError('validation_failed', 'pre_hook/post_hook are only allowed on backup schedules', { pre_hook: 'backup schedules only' });
    }
    if ((hooks || input.run_as != null) && !isAdmin(actor)) throw new DomainError('forbidden', 'only admins may set hooks or run_as');
    if (input.databases.length > 0 && input.kind !== 'backup') throw new DomainError('validation_failed', 'databases are only allowed on backup schedules', { databases: 'backup schedules only' });
    if (input.kind === 'backup' && input.paths.length === 0 && input.databases.length === 0) throw new DomainError('validation_failed', 'a backup schedule needs at least one path or database', { paths: 'required' });
    if (input.kind === 'vault_backup' && input.paths.length === 0) throw new DomainError('validation_failed', 'a vault backup schedule needs at least one path', { paths: 'required' });
    if (input.kind.startsWith('vault_') && input.tags.length > 0) throw new DomainError('validation_failed', 'vault snapshots have no tags', { tags: 'not for vault schedules' });
    if (input.kind.startsWith('vault_') && Object.keys(input.options).length > 0) throw new DomainError('validation_failed', 'bandwidth limits do not apply to vault schedules', { options: 'not for vault schedules' });
    if (input.kind === 'vault_prune' && input.retention_policy?.keep_tag?.length) throw new DomainError('validation_failed', 'vault snapshots have no tags: keep_tag is not supported', { retention_policy: 'no keep_tag for vault_prune' });
    if (input.kind !== 'backup' && input.stop_containers?.length) throw new DomainError('validation_failed', 'stop_containers: only for backup schedules', { stop_containers: 'backup schedules only' });
    if (input.kind !== 'check' && (input.read_data_subset != null || input.read_data_rotation != null)) {
      throw new DomainError('validation_failed', 'read_data_subset/read_data_rotation are only for check schedules', { read_data_subset: 'check schedules only' });
    }
    if (input.kind !== 'restore_drill' && input.drill_host_id) throw new DomainError('validation_failed', 'drill_host_id is only for restore_drill schedules', { drill_host_id: 'restore_drill schedules only' });
    if (input.kind === 'restore_drill' && (input.paths.length > 0 || input.tags.length > 0 || input.retention_policy)) {
      throw new DomainError('validation_failed', 'a restore_drill schedule drills the latest snapshot of every repository of the host: it takes no paths, tags or retention_policy', { paths: 'not for restore_drill schedules' });
    }
    if ((input.kind === 'forget') && !input.retention_policy) throw new DomainError('validation_failed', 'a forget schedule needs a retention_policy', { retention_policy: 'required' });
    // Backup windows (issue 21): a set that never opens, or a malformed time, is refused naming the field.
    if (input.windows) checkWindowSet(input.windows, 'windows', this.d.now());
  }

  /**
   * The repository a schedule targets: null for the primary (absent, null or the primary's id);
   * 400 naming `repository_id` when it is not linked to the host. Vault schedules have none.
   */
  private async checkRepository(hostId: string, input: ScheduleInput): Promise<string | null> {
    if (input.kind === 'restore_drill' && input.drill_host_id && !(await this.d.repos.hosts.findById(input.drill_host_id))) {
      throw new DomainError('validation_failed', `drill_host_id: no host ${input.drill_host_id}`, { drill_host_id: 'unknown host' });
    }
    if (input.kind === 'restore_drill' && input.repository_id) throw new DomainError('validation_failed', 'repository_id: a restore drill covers every repository of the host', { repository_id: 'not for restore_drill schedules' });
    const id = input.repository_id ?? null;
    if (!id) return null;
    if (input.kind.startsWith('vault_')) throw new DomainError('validation_failed', 'repository_id: vault schedules use the vault target', { repository_id: 'not for vault schedules' });
    const host = await this.d.repos.hosts.findById(hostId);
    if (host?.repo_id === id) return null;
    const links = await this.d.repos.repos.linksOfHost(hostId);
    if (!links.some((l) => l.repo_id === id)) throw new DomainError('validation_failed', 'repository_id: that repository is not linked to this host', { repository_id: 'not linked to this host' });
    return id;
  }

  /** Refuses databases for a host whose agent is known to predate them (409). */
  private checkAgent(host: Parameters<typeof databasesRefusal>[0], input: ScheduleInput): void {
    const why = input.databases.length > 0 ? databasesRefusal(host) : null;
    if (why) throw new DomainError('invalid_state', why, { databases: 'the agent cannot dump databases' });
  }

  /** The API view: databases without their passwords. */
  private view(r: ScheduleRow) {
    return scheduleView(r, databaseViews(this.openDatabases(r)));
  }

  private sealDatabases(id: string, dbs: readonly DatabaseTarget[]): string | null {
    return dbs.length > 0 ? this.d.box.sealJson(dbs, `databases:${id}`) : null;
  }

  private openDatabases(r: ScheduleRow): DatabaseTarget[] {
    return r.databases_enc ? this.d.box.openJson<DatabaseTarget[]>(r.databases_enc, `databases:${r.id}`) : [];
  }

  /** Row columns for `s`; when `keep` is given (non-admin edit) its hooks are preserved. */
  private columns(id: string, s: ScheduleInput, keep: ScheduleRow | null) {
    const hooks = keep
      ? { pre_hook_enc: keep.pre_hook_enc, post_hook_enc: keep.post_hook_enc, run_as: keep.run_as }
      : {
          pre_hook_enc: s.pre_hook != null ? this.d.box.seal(s.pre_hook, `hook:pre:${id}`) : null,
          post_hook_enc: s.post_hook != null ? this.d.box.seal(s.post_hook, `hook:post:${id}`) : null,
          run_as: s.run_as,
        };
    return {
      kind: s.kind, cron_expr: s.cron_expr, time_zone: s.time_zone, enabled: s.enabled ? 1 : 0,
      paths: JSON.stringify(s.paths), excludes: JSON.stringify(s.excludes), tags: JSON.stringify(s.tags),
      retention_policy: s.retention_policy ? JSON.stringify(s.retention_policy) : null, options: JSON.stringify(s.options),
      read_data_subset: s.kind === 'check' ? s.read_data_subset ?? null : null,
      read_data_rotation: s.kind === 'check' ? s.read_data_rotation ?? null : null,
      drill_host_id: s.kind === 'restore_drill' ? s.drill_host_id ?? null : null,
      stop_containers: s.kind === 'backup' && s.stop_containers?.length ? JSON.stringify(s.stop_containers) : null,
      windows: s.windows && (s.windows.windows.length > 0 || s.windows.blackouts.length > 0) ? JSON.stringify(s.windows) : null,
      ...hooks,
    };
  }

  /**
   * Sets (or, with null, clears) the host's time zone: the zone its schedules without their own
   * fire in. Pushes a new schedule version, since the agent's crons change with it.
   */
  async setHostTimeZone(actor: Actor, hostId: string, timeZone: string | null) {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    await this.d.repos.hosts.update(hostId, { time_zone: timeZone });
    await this.audit.record(actor, 'host.time_zone', { kind: 'host', id: hostId }, { from: host.time_zone, to: timeZone });
    await this.push(hostId);
    return { host_id: hostId, time_zone: timeZone, schedule_version: host.schedule_version + 1 };
  }

  /** Pushes a new schedule version to each host (their tag windows changed). */
  async repush(hostIds: readonly string[]): Promise<void> {
    for (const id of hostIds) await this.push(id);
  }

  /** Bumps the version and sends schedule.set if the agent is online. */
  private async push(hostId: string): Promise<void> {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) return;
    await this.d.repos.hosts.update(hostId, { schedule_version: host.schedule_version + 1 });
    await this.sendTo(hostId);
  }

  /** The full `schedule.set` frame for a host, hooks decrypted. */
  async scheduleSet(hostId: string) {
    const host = await this.d.repos.hosts.findById(hostId);
    const rows = await this.d.repos.schedules.listForHost(hostId);
    // Host default hooks (migration 0005, set by MaintenanceService) apply to backup schedules without their own.
    const defPre = host?.pre_hook_default_enc ? this.d.box.open(host.pre_hook_default_enc, `hook:pre-default:${hostId}`) : null;
    const defPost = host?.post_hook_default_enc ? this.d.box.open(host.post_hook_default_enc, `hook:post-default:${hostId}`) : null;
    // A schedule without its own zone fires in the host's (migration 0006), else the agent's local zone.
    const zoneOf = (r: ScheduleRow): { time_zone?: string } => {
      const tz = r.time_zone ?? host?.time_zone ?? null;
      return tz ? { time_zone: tz } : {};
    };
    // An agent that did not announce `databases` would drop them and back up the paths only:
    // such schedules go to it disabled instead.
    const dumps = host ? databasesRefusal(host) === null : false;
    // Likewise an agent that did not announce `stop_containers` would back up with the containers running.
    const stops = host ? agentHasFeature(host, 'stop_containers') : false;
    // An agent without `stop_containers_labels` would refuse a `label:` entry (its schema predates them).
    const labels = host ? agentHasFeature(host, 'stop_containers_labels') : false;
    // Backup windows (issue 21): the schedule's own set and its host's tags' sets; an older agent ignores them.
    const windowSets = await windowSetsFor(this.d.repos, host, rows);
    const windowsOf = (r: ScheduleRow) => {
      const sets = windowSets.get(r.id) ?? [];
      return sets.length > 0 ? { windows: sets } : {};
    };
    const stopsOk = (r: ScheduleRow): boolean => !r.stop_containers || (stops && (labels || !hasLabelSelector(JSON.parse(r.stop_containers) as string[])));
    // Vault and restore_drill schedules are server-fired and never reach the agent (its schedule.set parser predates them).
    const schedules: ScheduleSpec[] = rows.filter((r) => !r.kind.startsWith('vault_') && r.kind !== 'restore_drill').map((r) => ({
      id: r.id, kind: r.kind, cron_expr: r.cron_expr, ...zoneOf(r), enabled: r.enabled === 1 && (dumps || !r.databases_enc) && stopsOk(r),
      paths: JSON.parse(r.paths) as string[], excludes: JSON.parse(r.excludes) as string[], tags: JSON.parse(r.tags) as string[],
      retention_policy: r.retention_policy ? (JSON.parse(r.retention_policy) as Record<string, unknown>) : null,
      options: JSON.parse(r.options) as ScheduleSpec['options'],
      pre_hook: r.pre_hook_enc ? this.d.box.open(r.pre_hook_enc, `hook:pre:${r.id}`) : r.kind === 'backup' ? defPre : null,
      post_hook: r.post_hook_enc ? this.d.box.open(r.post_hook_enc, `hook:post:${r.id}`) : r.kind === 'backup' ? defPost : null,
      run_as: r.run_as,
      ...(r.kind === 'backup' && r.databases_enc && dumps ? { databases: this.openDatabases(r) } : {}),
      ...(r.repository_id ? { repository_id: r.repository_id } : {}),
      ...(r.read_data_subset ? { read_data_subset: r.read_data_subset } : {}),
      ...(r.read_data_rotation !== null ? { read_data_rotation: r.read_data_rotation } : {}),
      ...(r.kind === 'backup' && r.stop_containers && stopsOk(r) ? { stop_containers: JSON.parse(r.stop_containers) as string[] } : {}),
      ...windowsOf(r),
    }));
    if (this.caps) for (const sc of schedules) if (await this.caps.capped(hostId, sc.repository_id ?? null, sc.kind)) sc.capped = true;
    return { type: 'schedule.set' as const, schedule_version: host?.schedule_version ?? 0, schedules };
  }

  /** Sends the current schedule.set; audited as a server -> agent command. */
  async sendTo(hostId: string): Promise<boolean> {
    const frame = await this.scheduleSet(hostId);
    const sent = this.d.agents.send(hostId, frame);
    if (sent) await this.audit.record({ kind: 'system' }, 'agent.command.schedule.set', { kind: 'host', id: hostId }, { schedule_version: frame.schedule_version, schedules: frame.schedules.length });
    return sent;
  }
}

/** Which stored hooks an admin's update leaves in place when the input has none. */
export interface KeepHooks {
  pre_hook?: boolean;
  post_hook?: boolean;
  run_as?: boolean;
}

const isAdmin = (a: Actor): boolean => a.kind === 'user' && a.role === 'admin';

function describe(hostId: string, s: ScheduleInput): Record<string, unknown> {
  return {
    host_id: hostId, kind: s.kind, cron_expr: s.cron_expr, enabled: s.enabled, paths: s.paths, tags: s.tags,
    pre_hook_set: s.pre_hook != null, post_hook_set: s.post_hook != null, run_as: s.run_as,
    ...(s.repository_id ? { repository_id: s.repository_id } : {}),
    ...(s.databases.length ? { databases: databaseViews(s.databases) } : {}),
    ...(s.windows ? { windows: s.windows } : {}),
    ...(s.healthcheck_url !== undefined ? { healthcheck_url_set: !!s.healthcheck_url } : {}),
  };
}
