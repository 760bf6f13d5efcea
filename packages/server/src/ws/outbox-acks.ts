import type { AgentMessage } from '@restic-manager/protocol';

/** The agent's outbox position of a report frame, if it carries one. */
export function outboxSeqOf(m: AgentMessage): number | undefined {
  return 'outbox_seq' in m ? m.outbox_seq : undefined;
}

/**
 * Acknowledgements of one agent connection (docs/protocol.md, "Outbox acknowledgement").
 * The gateway applies frames in order, so one number says it all: the highest `outbox_seq`
 * that was committed or rejected for good. `ack` goes out when the connection has no frame
 * waiting (`idle`) and at least every `every` reports during a burst. After `freeze` (a report
 * could not be stored) nothing later is acknowledged on this connection.
 */
export class OutboxAcks {
  private applied = 0;
  private acked = 0;
  private sinceAck = 0;
  private frozen = false;

  constructor(
    private readonly send: (outboxSeq: number) => void,
    private readonly every = 256,
  ) {}

  /** The report with this seq is stored (or rejected for good with an error frame). */
  done(seq: number | undefined): void {
    if (seq === undefined || this.frozen) return;
    if (seq > this.applied) this.applied = seq;
    if (++this.sinceAck >= this.every) this.idle();
  }

  /** A report could not be stored: it and everything after it stay unacknowledged. */
  freeze(): void {
    this.frozen = true;
  }

  /** No frame is waiting: acknowledge everything applied so far. */
  idle(): void {
    if (this.applied <= this.acked) return;
    this.acked = this.applied;
    this.sinceAck = 0;
    this.send(this.applied);
  }
}
