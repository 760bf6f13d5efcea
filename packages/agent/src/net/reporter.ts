import type { Logger } from '../log.js';
import type { Outbox } from '../state/outbox.js';

/** What the reporter needs from a connection. */
export interface Link {
  isReady(): boolean;
  send(frame: object): boolean;
  ping(): Promise<void>;
}

/**
 * Delivers job reports in order through the outbox: every frame is journaled first, sent when
 * the link is ready, and dropped from the journal once a pong that followed it comes back.
 * On reconnect (`resume()`), everything unacknowledged is sent again from the oldest entry.
 */
export class Reporter {
  /** Highest entry id written to the current socket. */
  private sentUpTo = 0;
  private pingScheduled = false;

  constructor(
    private readonly outbox: Outbox,
    private readonly link: Link,
    private readonly log: Logger,
  ) {}

  /** Journals a frame and sends it if connected. */
  report(frame: Record<string, unknown>): void {
    this.outbox.append(frame);
    this.pump();
  }

  /** Call after every (re)connect: replays the unacknowledged journal in order. */
  resume(): void {
    this.sentUpTo = 0;
    const n = this.outbox.size();
    if (n > 0) this.log.info('replaying queued reports', { count: n });
    this.pump();
  }

  private pump(): void {
    if (!this.link.isReady()) return;
    let sent = false;
    for (const e of this.outbox.pending()) {
      if (e.id <= this.sentUpTo) continue;
      if (!this.link.send(e.frame)) return;
      this.sentUpTo = e.id;
      sent = true;
    }
    if (sent && !this.pingScheduled) {
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
