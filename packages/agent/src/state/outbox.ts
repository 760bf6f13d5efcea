import fs from 'node:fs';
import { writeFileAtomic } from './atomic.js';

/**
 * One queued report. `id` is its `outbox_seq`: strictly increasing in journal order, stored in
 * the frame itself (so it survives restarts) and sent with it; the server's `ack` names it.
 */
export interface OutboxEntry {
  id: number;
  frame: Record<string, unknown>;
}

/**
 * The on-disk outbox: every job report is appended to a JSON-lines journal before it is sent,
 * and removed only after the server has acknowledged it (`ack` with its `outbox_seq`, or, with a
 * server that predates acks, a WebSocket pong that followed it — see Reporter).
 * After a disconnect or an agent restart, `pending()` is replayed in order; the server ignores
 * duplicates by `(job_id, seq)`. A torn last line (crash mid-append) is dropped on load.
 */
export class Outbox {
  private entries: OutboxEntry[] = [];
  private nextId = 1;
  private fd: number;
  private deliveredSinceCompact = 0;
  /** Lines that could not be parsed on load (reported by the caller). */
  readonly skippedOnLoad: number;

  constructor(private readonly file: string) {
    let skipped = 0;
    let renumbered = false;
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const frame = JSON.parse(line) as unknown;
        if (typeof frame === 'object' && frame !== null && !Array.isArray(frame)) {
          const f = frame as Record<string, unknown>;
          // Keep the stored outbox_seq when it still increases; number older journals' lines.
          const stored = f.outbox_seq;
          const id = typeof stored === 'number' && Number.isSafeInteger(stored) && stored >= this.nextId ? stored : this.nextId;
          if (id !== stored) {
            f.outbox_seq = id;
            renumbered = true;
          }
          this.entries.push({ id, frame: f });
          this.nextId = id + 1;
        } else skipped++;
      } catch {
        skipped++;
      }
    }
    this.skippedOnLoad = skipped;
    if (skipped > 0 || renumbered || (text.length > 0 && !text.endsWith('\n'))) this.rewrite();
    this.fd = fs.openSync(file, 'a', 0o600);
  }

  /** Appends a frame to the journal, numbered with the next `outbox_seq`, and returns that. */
  append(frame: Record<string, unknown>): number {
    const id = this.nextId++;
    const numbered = { ...frame, outbox_seq: id };
    fs.writeSync(this.fd, JSON.stringify(numbered) + '\n');
    this.entries.push({ id, frame: numbered });
    return id;
  }

  /** Frames not yet acknowledged, oldest first. */
  pending(): readonly OutboxEntry[] {
    return this.entries;
  }

  size(): number {
    return this.entries.length;
  }

  /** Drops every entry with id <= `uptoId` and compacts the journal when worthwhile. */
  markDelivered(uptoId: number): void {
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.id <= uptoId) n++;
    if (n === 0) return;
    this.entries.splice(0, n);
    this.deliveredSinceCompact += n;
    if (this.entries.length === 0) {
      fs.ftruncateSync(this.fd, 0);
      this.deliveredSinceCompact = 0;
    } else if (this.deliveredSinceCompact >= 1000) {
      fs.closeSync(this.fd);
      this.rewrite();
      this.fd = fs.openSync(this.file, 'a', 0o600);
      this.deliveredSinceCompact = 0;
    }
  }

  /** Forces buffered journal writes to disk (called at shutdown). */
  sync(): void {
    fs.fsyncSync(this.fd);
  }

  close(): void {
    try {
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
    }
  }

  private rewrite(): void {
    writeFileAtomic(this.file, this.entries.map((e) => JSON.stringify(e.frame) + '\n').join(''));
  }
}
