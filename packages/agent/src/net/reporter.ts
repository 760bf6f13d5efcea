import type { Logger } from '../log.js';
import type { Outbox } from '../state/outbox.js';
import { AGENT_FRAME_RATE } from '../wire.js';
import { TokenBucket } from '@restic-manager/protocol/wire';
import type { FrameRate } from '@restic-manager/protocol/wire';

/** What the reporter needs from a connection. */
export interface Link {
  isReady(): boolean;
  send(frame: object): boolean;
  ping(): Promise<void>;
}

/**
 * Above this many queued reports, new log lines are dropped (lifecycle frames never are), so a
 * server that stays away for weeks cannot fill the disk; the drop is noted in the job's log.
 */
export const MAX_QUEUED_REPORTS = 200_000;

/** A paced pump wakes once this many frames may go (not once per frame). */
const PACE_BATCH = 64;

/** Index of the first entry with an id above `id` (entries are in ascending id order). */
function firstAfter(list: readonly { id: number }[], id: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.id <= id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Half the server's per-connection frame limit, so reports (plus heartbeats) never trip it. */
export const REPORT_RATE: FrameRate = { burst: AGENT_FRAME_RATE.burst / 2, perSecond: AGENT_FRAME_RATE.perSecond / 2 };

/**
 * Delivers job reports in order through the outbox: every frame is journaled first (numbered
 * with `outbox_seq`), sent when the link is ready, and dropped from the journal only when the
 * server acknowledges it: by an `ack` frame once the server has stored it, when the server's
 * hello announced `outbox_acks`; with an older server, once a pong that followed it comes back
 * (the server has read it). On reconnect (`resume()`), everything unacknowledged is sent again
 * from the oldest entry. Sends are paced (`rate`, default REPORT_RATE): past the burst, the rest
 * stays in the journal and goes out at the rate, so a long replay never trips the server's
 * frame limit (close 4008).
 */
export class Reporter {
  private droppedLines = new Map<string, number>();
  /** Highest entry id written to the current socket. */
  private sentUpTo = 0;
  private pingScheduled = false;
  /** The server of the current connection sends `ack` frames (hello.outbox_acks). */
  private serverAcks = false;
  private readonly pacer: TokenBucket;
  private paceTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly outbox: Outbox,
    private readonly link: Link,
    private readonly log: Logger,
    private readonly maxQueued = MAX_QUEUED_REPORTS,
    rate: FrameRate = REPORT_RATE,
  ) {
    this.pacer = new TokenBucket(rate);
  }

  /** Journals a frame and sends it if connected. */
  report(frame: Record<string, unknown>): void {
    if (frame.type === 'log.stream' && this.outbox.size() >= this.maxQueued) {
      const job = String(frame.job_id);
      const n = (this.droppedLines.get(job) ?? 0) + 1;
      this.droppedLines.set(job, n);
      if (n === 1) this.log.warn('outbox full: dropping log lines until the server is back', { job_id: job, queued: this.outbox.size() });
      return;
    }
    if (frame.type === 'job.finished' && this.droppedLines.has(String(frame.job_id))) {
      const job = String(frame.job_id);
      const seq = typeof frame.seq === 'number' ? frame.seq : 0;
      this.outbox.append({ type: 'log.stream', job_id: job, seq, ts: new Date().toISOString(), stream: 'event', payload: `${this.droppedLines.get(job) ?? 0} log lines were dropped while the server was unreachable (outbox full)` });
      this.droppedLines.delete(job);
      frame = { ...frame, seq: seq + 1 };
    }
    this.outbox.append(frame);
    this.pump();
  }

  /**
   * Call after every (re)connect with what the server's hello announced: replays the
   * unacknowledged journal in order.
   */
  resume(serverAcks = false): void {
    this.serverAcks = serverAcks;
    this.sentUpTo = 0;
    const n = this.outbox.size();
    if (n > 0) this.log.info('replaying queued reports', { count: n });
    this.pump();
  }

  /** The server's `ack`: every report up to `outboxSeq` sent on this connection is stored. */
  acked(outboxSeq: number): void {
    if (!this.serverAcks) return;
    this.outbox.markDelivered(Math.min(outboxSeq, this.sentUpTo));
  }

  /** Pumps again once the pacer has a token (one timer at a time; it never keeps the process alive). */
  private pumpLater(): void {
    if (this.paceTimer) return;
    this.paceTimer = setTimeout(() => {
      this.paceTimer = null;
      this.pump();
    }, Math.max(1, this.pacer.waitMs(PACE_BATCH)));
    this.paceTimer.unref();
  }

  private pump(): void {
    if (!this.link.isReady()) return;
    let sent = false;
    const list = this.outbox.pending();
    for (let i = firstAfter(list, this.sentUpTo); i < list.length; i++) {
      const e = list[i]!;
      if (!this.pacer.take()) {
        this.pumpLater();
        break;
      }
      if (!this.link.send(e.frame)) return;
      this.sentUpTo = e.id;
      sent = true;
    }
    if (sent && !this.serverAcks && !this.pingScheduled) {
      this.pingScheduled = true;
      setImmediate(() => {
        this.pingScheduled = false;
        const upTo = this.sentUpTo;
        this.link.ping().then(
          () => this.outbox.markDelivered(upTo),
          () => undefined,
        );
      });
    }
  }
}
