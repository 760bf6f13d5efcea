import path from 'node:path';
import type { JobCredential, JobKind } from '../wire.js';
import type { Connection, Engine, ProgressOptions } from '@restic-manager/engines';
import type { RepositoryConfig, RepositoryEngine } from '@restic-manager/protocol';
import type { Logger } from '../log.js';
import type { RepoSecrets } from '../state/secrets.js';
import { writeFileAtomic, readIfExists } from '../state/atomic.js';
import type { Outcome } from './outcome.js';
import type * as ExecModule from './execute.js';
import type { OpenRepository } from './repo-access.js';
import { jobAccess } from './job-access.js';
import { nextCheckPart } from '../state/check-rotation.js';
import { JobEvents } from './job-events.js';
import type { Emit } from './job-events.js';
import { runHook } from './hooks.js';
import { sendExtras } from './extras.js';
import { LogicalBytes } from './logical-bytes.js';
import { LockRefresher } from './lock-refresh.js';
import { WindowStop } from './window-stop.js';
import type { SlotGate } from './slot-gate.js';

/** A job to run: from `command.run` (server) or from the local scheduler (`scheduleId` set). */
export interface JobRequest {
  jobId: string;
  kind: JobKind;
  args: unknown;
  /** One-job credential override; used for this job only and never persisted. */
  credential?: JobCredential;
  /** vault_* jobs: the vault target (`command.run.vault`), validated when the job runs; never persisted. */
  vault?: Record<string, unknown>;
  /** The repository of this job (`command.run.repository`, issue 15): used for this job only, never persisted. */
  repository?: RepositoryConfig;
  /** A schedule's repository (`ScheduleSpec.repository_id`), one of `RunnerDeps.repositories()`. */
  repositoryId?: string;
  /** copy jobs: the target repository (`command.run.copy_target`), validated when the job runs; never persisted. */
  copyTarget?: Record<string, unknown>;
  scheduleId?: string;
  /** Backup windows (issue 21): abort at this time (ms) with the window's reason (jobs/window-stop.ts). */
  stopAt?: number;
  /** The first event seq of the job (the scheduler already sent job.queued while it waited for its window). */
  firstSeq?: number;
  /** A scheduled job under a concurrency cap (`ScheduleSpec.capped`, issue 21): it waits for the server's slot.grant before it starts. */
  awaitSlot?: boolean;
}

export interface RunnerDeps {
  /** Loaded lazily on the first job, so an idle agent never pays for it; `name` is the repository's engine (default restic). */
  engine: (name?: RepositoryEngine) => Promise<Engine>;
  emit: Emit;
  /** Current routine credentials (config.update), or null before the first push. */
  secrets: () => RepoSecrets | null;
  /** The repositories schedules may name (config.update.repositories); none before issue 15. */
  repositories?: () => readonly RepositoryConfig[];
  /** Where each job's private credential-file directory is made (default: `job-files/` next to the active-jobs file). */
  jobFilesDir?: string;
  /** Restore drills' scratch directories (default: `drills` next to the active-jobs file). */
  drillsDir?: string;
  /** vault_drill: the age identity file of a host trusted for vault drills (vault-identity.ts); its path only. */
  vaultIdentityFile?: string | undefined;
  /** Which part of the pack data each repository's next check reads (default: `check-rotation.json` next to the active-jobs file). */
  checkRotationFile?: string;
  activeJobsFile: string;
  /** Containers stopped by a running backup (default: `stopped-containers.json` next to the active-jobs file). */
  stoppedContainersFile?: string;
  log: Logger;
  /** restic cache directory (must be writable under the systemd sandbox). */
  cacheDir?: string;
  killGraceMs?: number;
  progressIntervalMs?: number;
  /** Directory of the vault engine's local change-detection indexes (default: `vault/` next to the active-jobs file). */
  vaultDir?: string;
  /** Lists the repository's locks this often while idle, after the first job (default 10 min; 0 = only after jobs). */
  lockRefreshMs?: number;
  /** Where capped scheduled jobs wait for their slot (issue 21); absent = they start at once. */
  slots?: Pick<SlotGate, 'wait' | 'cancel'>;
  /** The clock a backup window's `stop` is measured on (default Date.now; the scheduler's clock). */
  now?: () => number;
}

/** Default of `RunnerDeps.lockRefreshMs`: one `restic list locks` every 10 minutes while idle. */
export const LOCK_REFRESH_MS = 10 * 60_000;

type Exec = typeof ExecModule;

/** How many ended job ids the runner remembers to refuse a duplicate command.run. */
const MAX_REMEMBERED_ENDED = 10_000;

/** `seq` of the job.finished sent for a job lost to an agent crash (above any real seq). */
export const RECOVERY_SEQ = 2_000_000_000;

interface Entry {
  req: JobRequest;
  events: JobEvents;
  args: Record<string, unknown>;
  cred: RepoSecrets;
  /** The job's own repository (command.run.repository or the schedule's), checked; absent = `cred` as today. */
  repo?: RepositoryConfig;
  /** Everything to keep out of the job log and agent log: the credential's and the dumps' passwords. */
  secrets: string[];
  repoKey: string;
  abort: AbortController;
  /** The `stop` end of the job's backup window, armed when it starts. */
  windowStop?: WindowStop;
}

/**
 * Runs jobs: one at a time per repository (later ones wait and are reported as `job.queued`),
 * cancellable (SIGINT, then SIGKILL after `killGraceMs`), with backup hooks, bandwidth limits
 * and the post-backup snapshots/stats reports. Every outcome is reported; nothing throws.
 */
export class JobRunner {
  private readonly running = new Map<string, Entry>();
  private readonly queues = new Map<string, Entry[]>();
  /** Capped scheduled jobs waiting for the server's slot.grant (issue 21). */
  private readonly gated = new Map<string, Entry>();
  private idleWaiters: (() => void)[] = [];
  /** Jobs submitted but not yet accepted (the executor module is loading). */
  private readonly intake = new Map<string, { req: JobRequest; cancelled: boolean }>();
  private intakeChain: Promise<void> = Promise.resolve();
  private exec: Exec | null = null;
  /** Jobs this agent process ended (and those it reported lost at start-up), newest last: a second command.run for one is ignored. */
  private readonly ended = new Set<string>();
  /** Reports of a job's own frames; remembers the jobs that ended. */
  private readonly emitJob: Emit = (f) => {
    if (f.type === 'job.finished') {
      this.ended.add(f.job_id);
      if (this.ended.size > MAX_REMEMBERED_ENDED) this.ended.delete(this.ended.values().next().value!);
    }
    this.deps.emit(f);
  };

  private readonly lockRefresh: LockRefresher;
  /** The dedup ratio's logical bytes per repository, so a backup walks only its new snapshot. */
  private readonly logical = new LogicalBytes();

  constructor(private readonly deps: RunnerDeps) {
    this.lockRefresh = new LockRefresher({
      intervalMs: deps.lockRefreshMs ?? LOCK_REFRESH_MS,
      conn: () => {
        const s = deps.secrets();
        return s ? {
          repository: s.repository, password: s.password,
          ...(s.rest_username ? { restUsername: s.rest_username } : {}),
          ...(s.rest_password ? { restPassword: s.rest_password } : {}),
          ...(deps.cacheDir ? { cacheDir: deps.cacheDir } : {}),
        } : null;
      },
      busy: () => this.running.size > 0 || this.intake.size > 0,
      emit: deps.emit,
      log: deps.log,
    });
  }

  /** Reports jobs that were running when the agent died as failed (call once at start-up). */
  recoverLostJobs(): string[] {
    const raw = readIfExists(this.deps.activeJobsFile);
    if (!raw) return [];
    let list: { job_id: string; kind: JobKind; schedule_id?: string }[] = [];
    try {
      list = JSON.parse(raw.toString('utf8')) as typeof list;
    } catch {
      this.deps.log.warn('active-jobs file is corrupt; ignoring it');
    }
    for (const j of list) {
      const ev = new JobEvents(j.job_id, j.kind, j.schedule_id, this.emitJob, 500, RECOVERY_SEQ);
      ev.finished({ status: 'failed', exitCode: null, stats: null, error: 'the agent stopped (crash, kill or reboot) while this job was running; it was not completed', errorKind: 'agent_lost' });
      this.deps.log.warn('reported a job lost to an agent restart as failed', { job_id: j.job_id });
    }
    this.saveActive();
    return list.map((j) => j.job_id);
  }

  activeJobIds(): string[] {
    const ids = [...this.running.values()].map((e) => e.req.jobId);
    ids.push(...this.intake.keys(), ...this.gated.keys());
    for (const q of this.queues.values()) ids.push(...q.map((e) => e.req.jobId));
    return ids;
  }

  runningJobIds(): string[] {
    return [...this.running.values()].map((e) => e.req.jobId);
  }

  /** True while a job of this schedule is queued or running (the scheduler skips overlapping fires). */
  hasScheduleJob(scheduleId: string): boolean {
    for (const p of this.intake.values()) if (p.req.scheduleId === scheduleId) return true;
    for (const e of this.running.values()) if (e.req.scheduleId === scheduleId) return true;
    for (const e of this.gated.values()) if (e.req.scheduleId === scheduleId) return true;
    for (const q of this.queues.values()) if (q.some((e) => e.req.scheduleId === scheduleId)) return true;
    return false;
  }

  /** Resolves when no job is running or queued. */
  async idle(): Promise<void> {
    await this.intakeChain;
    if (this.running.size === 0) return;
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Accepts a job. Arguments are validated with the protocol's zod schemas, which are loaded on
   * the first job only (an idle agent never builds them); submissions keep their order.
   */
  submit(req: JobRequest): void {
    if (this.activeJobIds().includes(req.jobId)) {
      this.deps.log.warn('ignoring a duplicate command.run for a job already queued or running', { job_id: req.jobId });
      return;
    }
    if (this.ended.has(req.jobId)) {
      // Its job.finished is in the outbox (or delivered): running it again would run it twice.
      this.deps.log.warn('ignoring a duplicate command.run for a job this agent already ran', { job_id: req.jobId });
      return;
    }
    this.intake.set(req.jobId, { req, cancelled: false });
    this.intakeChain = this.intakeChain.then(async () => {
      this.exec ??= await import('./execute.js');
      const pending = this.intake.get(req.jobId);
      this.intake.delete(req.jobId);
      this.accept(req, this.exec, pending?.cancelled === true);
    }).catch((err: unknown) => this.deps.log.error('cannot accept a job', { job_id: req.jobId, error: String(err) }));
  }

  private accept(req: JobRequest, exec: Exec, cancelled: boolean): void {
    const events = new JobEvents(req.jobId, req.kind, req.scheduleId, this.emitJob, this.deps.progressIntervalMs ?? 500, req.firstSeq ?? 0);
    const fail = (error: string, errorKind: Outcome['errorKind']): void =>
      events.finished({ status: 'failed', exitCode: null, stats: null, error, errorKind });
    if (cancelled) {
      events.finished({ status: 'cancelled', exitCode: null, stats: null, error: 'cancelled before it started', errorKind: 'cancelled' });
      return;
    }
    let args: Record<string, unknown>;
    try {
      args = exec.parseArgs(req.kind, req.args);
    } catch (err) {
      if (err instanceof exec.ArgsError) return fail(err.message, 'failed');
      throw err;
    }
    const access = jobAccess({ ...req, args }, this.deps.secrets(), this.deps.repositories?.() ?? [], exec);
    if ('error' in access) {
      this.deps.log.warn('refusing a job', { job_id: req.jobId, kind: req.kind, reason: access.error });
      return fail(access.error, access.errorKind);
    }
    // A copy job's target secrets are redacted like the source's.
    if (req.copyTarget) access.secrets.push(...exec.copyTargetSecrets(req.copyTarget));
    for (const s of access.secrets) this.deps.log.addSecret(s);
    if (req.kind === 'check') args = exec.resolveCheckArgs(args, (parts) => nextCheckPart(this.checkRotationFile(), access.repoKey, parts));
    const entry: Entry = { req, events, args, ...access, abort: new AbortController() };
    if (req.awaitSlot && this.deps.slots) return this.awaitSlot(entry, this.deps.slots);
    this.enqueue(entry);
  }

  /** A capped scheduled job: reported queued with `awaiting_slot` and held until the server grants a slot (or stays away too long). */
  private awaitSlot(entry: Entry, gate: NonNullable<RunnerDeps['slots']>): void {
    const id = entry.req.jobId;
    this.gated.set(id, entry);
    this.saveActive();
    void gate.wait(id, () => entry.events.queued('waiting for a concurrency slot from the server', true)).then((o) => {
      this.gated.delete(id);
      if (o === 'cancelled') {
        entry.events.finished({ status: 'cancelled', exitCode: null, stats: null, error: 'cancelled while waiting for a concurrency slot', errorKind: 'cancelled' });
        this.saveActive();
        return;
      }
      if (o === 'offline') entry.events.line('event', 'the server was unreachable; starting without a concurrency slot (caps are best effort while the control plane is away)');
      this.enqueue(entry);
    });
  }

  /** Starts a job, or queues it behind the job running on the same repository. */
  private enqueue(entry: Entry): void {
    const busy = this.running.get(entry.repoKey);
    if (busy) {
      const q = this.queues.get(entry.repoKey) ?? [];
      q.push(entry);
      this.queues.set(entry.repoKey, q);
      // saved before it is reported: after a kill -9 in between, the restarted agent reports the job lost
      this.saveActive();
      entry.events.queued(`waiting for job ${busy.req.jobId} on the same repository`);
      return;
    }
    this.start(entry);
  }

  /** Cancels a queued or running job. Returns false when the job is unknown here. */
  cancel(jobId: string): boolean {
    if (this.gated.has(jobId) && this.deps.slots?.cancel(jobId)) return true;
    const pending = this.intake.get(jobId);
    if (pending) {
      pending.cancelled = true;
      return true;
    }
    for (const [key, q] of this.queues) {
      const i = q.findIndex((e) => e.req.jobId === jobId);
      if (i >= 0) {
        const [e] = q.splice(i, 1);
        if (q.length === 0) this.queues.delete(key);
        e!.events.finished({ status: 'cancelled', exitCode: null, stats: null, error: 'cancelled before it started', errorKind: 'cancelled' });
        this.saveActive();
        return true;
      }
    }
    for (const e of this.running.values()) {
      if (e.req.jobId === jobId) {
        this.deps.log.info('cancelling job', { job_id: jobId });
        e.abort.abort();
        return true;
      }
    }
    return false;
  }

  /** Cancels everything (agent shutdown) and waits for the children to stop. */
  async shutdown(): Promise<void> {
    this.lockRefresh.stop();
    for (const id of [...this.gated.keys()]) this.cancel(id);
    for (const q of this.queues.values()) for (const e of q) this.cancel(e.req.jobId);
    for (const e of this.running.values()) e.abort.abort();
    await this.idle();
  }

  private start(entry: Entry): void {
    this.running.set(entry.repoKey, entry);
    this.saveActive();
    entry.windowStop = new WindowStop(entry.req.stopAt, entry.abort, this.deps.now);
    void this.run(entry).finally(() => {
      entry.windowStop?.dispose();
      this.running.delete(entry.repoKey);
      const q = this.queues.get(entry.repoKey);
      const next = q?.shift();
      if (q && q.length === 0) this.queues.delete(entry.repoKey);
      if (next) this.start(next);
      else this.saveActive();
      if (this.running.size === 0) {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const f of w) f();
      }
    });
  }

  private redact(line: string, secrets: readonly string[]): string {
    let out = line;
    for (const s of secrets) if (s.length >= 4 && out.includes(s)) out = out.split(s).join('***');
    return out;
  }

  private async run(e: Entry): Promise<void> {
    const { events, req, cred, args } = e;
    const signal = e.abort.signal;
    events.started();
    if (req.kind.startsWith('vault_')) return this.runVault(e);
    if (req.credential?.note) events.line('event', this.redact(req.credential.note, e.secrets));
    this.deps.log.info('job started', { job_id: req.jobId, kind: req.kind, schedule_id: req.scheduleId });
    const bw = args as { limit_upload_kbps?: number; limit_download_kbps?: number };
    const extra: Partial<Connection> = {
      ...(bw.limit_upload_kbps ? { limitUploadKiBs: bw.limit_upload_kbps } : {}),
      ...(bw.limit_download_kbps ? { limitDownloadKiBs: bw.limit_download_kbps } : {}),
      ...(this.deps.cacheDir ? { cacheDir: this.deps.cacheDir } : {}),
    };
    let conn: Connection = {
      repository: cred.repository,
      password: cred.password,
      ...(cred.rest_username ? { restUsername: cred.rest_username } : {}),
      ...(cred.rest_password ? { restPassword: cred.rest_password } : {}),
      ...extra,
    };
    const opts: ProgressOptions = {
      signal,
      killGraceMs: this.deps.killGraceMs ?? 5000,
      onLine: (l) => events.line(l.stream, this.redact(l.line, e.secrets)),
      onProgress: (p) => events.progress(p),
      progressIntervalMs: this.deps.progressIntervalMs ?? 500,
    };
    const hookLine = (stream: 'stdout' | 'stderr', line: string): void => events.line(stream, this.redact(line, e.secrets));
    const hooks = req.kind === 'backup' ? (args as { pre_hook?: string; post_hook?: string; run_as?: string }) : {};
    let outcome: Outcome;
    let extras: { snapshots?: boolean; stats?: boolean } = {};
    let engine: Engine | null = null;
    // The job's own repository: its credential files live in a private directory, removed in the finally below.
    let opened: OpenRepository | null = null;
    try {
      try {
        engine = await this.deps.engine(e.repo?.engine);
        if (e.repo) {
          opened = await this.exec!.openRepository(e.repo, this.jobFilesDir(), `job-${req.jobId}`);
          conn = { ...opened.conn, ...extra };
        }
        const pre = hooks.pre_hook
          ? await runHook({ name: 'pre_hook', script: hooks.pre_hook, ...(hooks.run_as ? { runAs: hooks.run_as } : {}), env: { RM_JOB_ID: req.jobId }, onLine: hookLine, signal })
          : { ok: true, exitCode: 0 };
        if (signal.aborted) {
          outcome = { status: 'cancelled', exitCode: null, stats: null, error: 'cancelled', errorKind: 'cancelled' };
        } else if (!pre.ok) {
          events.line('event', `pre_hook failed (${pre.error ?? 'non-zero exit'}); the backup was not started`);
          outcome = { status: 'failed', exitCode: pre.exitCode, stats: null, error: pre.error ?? 'pre_hook failed', errorKind: 'hook_failed' };
        } else {
          const stopList = req.kind === 'backup' ? (args as { stop_containers?: string[] }).stop_containers ?? [] : [];
          // Loaded only when asked: label selectors parse with the protocol's schemas (zod), which the idle agent does not hold.
          const held = stopList.length > 0 ? await (await import('./container-stop.js')).stopContainers(stopList, this.stoppedContainersFile(), (t) => events.line('event', t)) : null;
          const extra = { copyTarget: req.copyTarget, scratch: path.join(this.drillsDir(), `drill-${req.jobId}`) };
          try {
            ({ outcome, extras } = await this.exec!.executeKind(engine, conn, req.kind, args, opts, extra));
            if (outcome.errorKind === 'lock_failed' && !signal.aborted) {
              // Remove the lock only if restic itself considers it stale, then try once more.
              events.line('event', `${outcome.error ?? 'repository is locked'}; removing stale locks (restic unlock) and retrying once`);
              const u = await engine.unlock(conn, {}, { signal });
              if (u.ok) ({ outcome, extras } = await this.exec!.executeKind(engine, conn, req.kind, args, opts, extra));
              if (outcome.errorKind === 'lock_failed') events.line('event', 'the lock is held by a live process; it was left in place');
            }
          } finally {
            await held?.startAll();
          }
        }
        if (hooks.post_hook) {
          const post = await runHook({ name: 'post_hook', script: hooks.post_hook, ...(hooks.run_as ? { runAs: hooks.run_as } : {}), env: { RM_JOB_ID: req.jobId, RM_JOB_STATUS: outcome.status }, onLine: hookLine });
          events.line('event', post.ok ? 'post_hook exited with status 0' : `post_hook failed: ${post.error ?? ''} (the job status is unchanged)`);
          outcome.stats = { ...(outcome.stats ?? {}), post_hook_exit_code: post.exitCode };
        }
      } catch (err) {
        const invalid = err instanceof Error && err.name === 'BackendConfigError';
        outcome = { status: 'failed', exitCode: null, stats: null, error: `${invalid ? 'invalid repository' : 'agent error'}: ${this.redact((err as Error).message, e.secrets)}`, errorKind: 'failed' };
        if (e.repo && !opened) engine = null; // the repository never opened: nothing to report on
      }
      if (e.windowStop) outcome = e.windowStop.outcome(outcome);
      events.finished(outcome);
      this.deps.log.info('job finished', { job_id: req.jobId, status: outcome.status, error_kind: outcome.errorKind });
      // Locks are listed after every job (cheap: --no-lock), so a lock left by a killed process shows up;
      // a repository an init just created has none, and listing them would delay the next job.
      if (engine) {
        await sendExtras(engine, conn, req.jobId, {
          ...extras, locked: outcome.errorKind === 'lock_failed', locks: req.kind === 'init' && outcome.status === 'succeeded' ? 'none' as const : true,
          ...(req.kind === 'check' && outcome.status !== 'cancelled' ? { check: outcome.status === 'succeeded' ? 'succeeded' as const : 'failed' as const } : {}),
        }, this.deps.emit, this.deps.log, this.logical);
        // The idle lock listing watches the host's primary repository only.
        if (!e.repo || e.repo.url === this.deps.secrets()?.repository) this.lockRefresh.arm(engine);
      }
    } finally {
      await opened?.close();
    }
  }

  /** Where restore drills restore their samples (one `drill-<job id>` directory each, always removed). */
  private drillsDir(): string {
    return this.deps.drillsDir ?? path.join(path.dirname(this.deps.activeJobsFile), 'drills');
  }

  private jobFilesDir(): string {
    return this.deps.jobFilesDir ?? path.join(path.dirname(this.deps.activeJobsFile), 'job-files');
  }

  private stoppedContainersFile(): string {
    return this.deps.stoppedContainersFile ?? path.join(path.dirname(this.deps.activeJobsFile), 'stopped-containers.json');
  }

  private checkRotationFile(): string {
    return this.deps.checkRotationFile ?? path.join(path.dirname(this.deps.activeJobsFile), 'check-rotation.json');
  }

  /** A vault_* job: the vault engine in a process of its own (vault-process.ts), then the vault snapshot list. */
  private async runVault(e: Entry): Promise<void> {
    const { events, req } = e;
    this.deps.log.info('job started', { job_id: req.jobId, kind: req.kind, schedule_id: req.scheduleId });
    let outcome: Outcome;
    try {
      const { runVaultJobInProcess } = await import('./vault-process.js');
      const r = await runVaultJobInProcess({
        kind: req.kind, args: e.args, target: req.vault, signal: e.abort.signal,
        indexDir: this.deps.vaultDir ?? path.join(path.dirname(this.deps.activeJobsFile), 'vault'),
        identityFile: this.deps.vaultIdentityFile, drillsDir: this.drillsDir(),
        line: (stream, text) => events.line(stream, this.redact(text, e.secrets)),
        progress: (p) => events.progress(p),
      });
      outcome = r.outcome;
      if (outcome.error) outcome.error = this.redact(outcome.error, e.secrets);
      events.finished(outcome);
      if (r.snapshots) this.deps.emit({ type: 'vault.snapshots.report', job_id: req.jobId, snapshots: r.snapshots });
    } catch (err) {
      outcome = { status: 'failed', exitCode: null, stats: null, error: `agent error: ${this.redact((err as Error).message, e.secrets)}`, errorKind: 'failed' };
      events.finished(outcome);
    }
    this.deps.log.info('job finished', { job_id: req.jobId, status: outcome.status, error_kind: outcome.errorKind });
  }

  private saveActive(): void {
    const list = [...this.running.values(), ...[...this.queues.values()].flat(), ...this.gated.values()].map((e) => ({
      job_id: e.req.jobId, kind: e.req.kind, ...(e.req.scheduleId ? { schedule_id: e.req.scheduleId } : {}),
    }));
    try {
      writeFileAtomic(this.deps.activeJobsFile, JSON.stringify(list));
    } catch (err) {
      this.deps.log.error('cannot write the active-jobs file', { error: (err as Error).message });
    }
  }
}
