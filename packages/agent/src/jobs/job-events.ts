import type { AgentMessage, ErrorKind, JobKind, JobStatus } from '@restic-manager/protocol';
import type { Progress } from '@restic-manager/engines';

/** Sends one agent → server frame (the protocol's type: a frame the server cannot parse does not compile). */
export type Emit = (frame: AgentMessage) => void;

/** The frames of a job: numbered by (job_id, seq). */
type JobFrame = Extract<AgentMessage, { job_id: string; seq: number }>;
/** A job frame before JobEvents numbers it. */
type Unnumbered<F> = F extends unknown ? Omit<F, 'job_id' | 'seq'> : never;

/** restic `--json` status lines carry progress; they go to job.progress, not the log. */
const STATUS_LINE = /^\{"message_type":"status"/;

/**
 * The frames of one job, numbered by a per-job `seq` (the server de-duplicates replays by
 * `(job_id, seq)`). Progress is coalesced to at most one frame per `progressIntervalMs`;
 * the latest pending progress is flushed before `finished`.
 */
export class JobEvents {
  private seq = 0;
  private lastProgressAt = 0;
  private pendingProgress: Progress | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private finishedSent = false;

  constructor(
    readonly jobId: string,
    readonly kind: JobKind,
    readonly scheduleId: string | undefined,
    private readonly emit: Emit,
    private readonly progressIntervalMs = 500,
    startSeq = 0,
  ) {
    this.seq = startSeq;
  }

  private send(frame: Unnumbered<JobFrame>): void {
    this.emit({ ...frame, job_id: this.jobId, seq: this.seq++ } as JobFrame);
  }

  private sched(): { schedule_id?: string } {
    return this.scheduleId ? { schedule_id: this.scheduleId } : {};
  }

  queued(reason: string, awaitingSlot = false): void {
    this.send({ type: 'job.queued', kind: this.kind, ...this.sched(), reason, queued_at: new Date().toISOString(), ...(awaitingSlot ? { awaiting_slot: true } : {}) });
  }

  started(): void {
    this.send({ type: 'job.started', kind: this.kind, ...this.sched(), started_at: new Date().toISOString() });
  }

  line(stream: 'stdout' | 'stderr' | 'event', payload: string): void {
    if (stream === 'stdout' && STATUS_LINE.test(payload)) return;
    this.send({ type: 'log.stream', ts: new Date().toISOString(), stream, payload: payload.slice(0, 64 * 1024) });
  }

  progress(p: Progress): void {
    const now = Date.now();
    const wait = this.lastProgressAt + this.progressIntervalMs - now;
    if (wait <= 0 && !this.progressTimer) {
      this.sendProgress(p);
      return;
    }
    this.pendingProgress = p;
    this.progressTimer ??= setTimeout(() => {
      this.progressTimer = null;
      if (this.pendingProgress) this.sendProgress(this.pendingProgress);
    }, Math.max(wait, 0));
  }

  private sendProgress(p: Progress): void {
    this.pendingProgress = null;
    this.lastProgressAt = Date.now();
    this.send({
      type: 'job.progress',
      percent_done: Math.min(1, Math.max(0, p.percentDone)),
      files_done: Math.max(0, Math.floor(p.filesDone)),
      total_files: p.totalFiles === null ? null : Math.max(0, Math.floor(p.totalFiles)),
      bytes_done: Math.max(0, Math.floor(p.bytesDone)),
      total_bytes: p.totalBytes === null ? null : Math.max(0, Math.floor(p.totalBytes)),
      eta_seconds: p.etaSeconds === null ? null : Math.max(0, p.etaSeconds),
      throughput_bps: p.throughputBps === null ? null : Math.max(0, p.throughputBps),
      current_files: p.currentFiles.slice(0, 16).map((f) => f.slice(0, 4096)),
    });
  }

  finished(r: { status: Exclude<JobStatus, 'queued' | 'running'>; exitCode: number | null; stats: Record<string, unknown> | null; error: string | null; errorKind: ErrorKind | null }): void {
    if (this.finishedSent) return;
    this.finishedSent = true;
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.progressTimer = null;
    if (this.pendingProgress && r.status === 'succeeded') this.sendProgress(this.pendingProgress);
    this.send({
      type: 'job.finished',
      status: r.status,
      exit_code: r.exitCode,
      stats: r.stats,
      error: r.error === null ? null : r.error.slice(0, 4000),
      error_kind: r.errorKind,
      finished_at: new Date().toISOString(),
    });
  }
}
