import { randomUUID } from 'node:crypto';
import type { DownloadEnd, DownloadReady, DownloadStart } from '@restic-manager/protocol';
import { decodeDownloadChunk } from '@restic-manager/protocol';
import type { AgentLink } from './context.js';
import { DomainError } from './errors.js';

/** Chunks (of at most DOWNLOAD_CHUNK_BYTES) granted to the agent and not yet read by the browser. */
export const DOWNLOAD_WINDOW = 32;
/** Downloads running at once, per host and in all. */
export const MAX_DOWNLOADS_PER_HOST = 2;
export const MAX_DOWNLOADS = 8;
/** Archive overhead allowed per entry (headers, long names) over the sum of file sizes. */
const ARCHIVE_BYTES_PER_ENTRY = 10 * 1024;

export type DownloadOutcome = 'completed' | 'failed' | 'cancelled' | 'refused';

/** How a download ended, for the audit row: bytes handed to the browser, and why it stopped. */
export interface DownloadResult {
  outcome: DownloadOutcome;
  bytes: number;
  error: string | null;
}

export interface StreamTimeouts {
  /** Waiting for `download.ready` (the agent's size check walks the tree). */
  readyMs: number;
  /** No chunk while the agent holds credit. */
  stallMs: number;
}

interface Stream {
  id: string;
  hostId: string;
  state: 'waiting' | 'streaming' | 'closed';
  /** Settled with the first bytes (or a clean end): until then a failure is still an HTTP error. */
  onReady: { resolve: (r: DownloadReady) => void; reject: (e: Error) => void } | null;
  announced: DownloadReady | null;
  done: (r: DownloadResult) => void;
  granted: number;
  received: number;
  delivered: number;
  buffer: Buffer[];
  wake: (() => void) | null;
  controller: ReadableStreamDefaultController<Uint8Array> | null;
  /** A failure while the HTTP writer was not reading (see fail): the body errors at its next read. */
  deferred: string | null;
  /** Inside pull (a read waits on it). */
  inPull: boolean;
  /** The download's size limit (the asking replica's RM_DOWNLOAD_MAX_BYTES; 0 = none). */
  maxBytes: number;
  /** Bytes received, the most the agent may send, and what it said it sent at the end. */
  bytes: number;
  deliveredBytes: number;
  cap: number;
  exact: number | null;
  end: DownloadEnd | null;
  timer: NodeJS.Timeout;
  finished: boolean;
}

/**
 * The open downloads (docs/protocol.md "Downloads"): sends `download.start`, waits for the agent's
 * `download.ready`, and turns the agent's binary chunks into a ReadableStream for the HTTP answer.
 * Flow control: the agent may send only the chunks granted; a chunk the browser read frees one,
 * and credit goes back in batches of a quarter of the window, so at most DOWNLOAD_WINDOW chunks (8 MiB)
 * are held per download however slow the browser is. Anything out of protocol (a chunk without
 * credit, out of order, past the announced size) fails that download only.
 */
export class DownloadStreams {
  private readonly streams = new Map<string, Stream>();

  constructor(private readonly agents: AgentLink, private readonly t: StreamTimeouts = { readyMs: 120_000, stallMs: 120_000 }) {}

  /**
   * Asks the host's agent for the bytes; resolves once it announced them (within the size
   * limit) and the first bytes arrived, so a refusal or an early failure is still an HTTP error. Throws DomainError: rate_limited (too many at once), agent_unavailable, or what the
   * agent's refusal maps to. `done` is called exactly once, when the download has ended.
   */
  async open(hostId: string, req: Pick<DownloadStart, 'snapshot_id' | 'path' | 'format' | 'max_bytes'>, done: (r: DownloadResult) => void): Promise<{ ready: DownloadReady; body: ReadableStream<Uint8Array> }> {
    const mine = [...this.streams.values()].filter((s) => s.hostId === hostId && !s.finished).length;
    if (mine >= MAX_DOWNLOADS_PER_HOST) throw new DomainError('rate_limited', `${mine} downloads from this host are running already; wait for one to finish`);
    if (this.streams.size >= MAX_DOWNLOADS) throw new DomainError('rate_limited', `${this.streams.size} downloads are running on this server; wait for one to finish`);
    const id = randomUUID();
    const s: Stream = {
      id, hostId, state: 'waiting', onReady: null, announced: null, done, granted: DOWNLOAD_WINDOW, received: 0, delivered: 0, buffer: [], wake: null, controller: null, deferred: null, inPull: false,
      bytes: 0, deliveredBytes: 0, cap: 0, exact: null, end: null, finished: false, maxBytes: req.max_bytes,
      timer: setTimeout(() => this.fail(s, `the agent did not start the download within ${Math.round(this.t.readyMs / 1000)} s (it may be busy, or older than this server and unable to download)`, 'agent_unavailable'), this.t.readyMs),
    };
    s.timer.unref();
    const ready = new Promise<DownloadReady>((resolve, reject) => (s.onReady = { resolve, reject }));
    this.streams.set(id, s);
    if (!this.agents.send(hostId, { type: 'download.start', request_id: id, ...req, window: DOWNLOAD_WINDOW })) {
      this.fail(s, 'the agent is offline; try again when it is online', 'agent_unavailable');
    }
    const r = await ready;
    return { ready: r, body: this.body(s) };
  }

  /** `download.ready`: the size check passed on the agent. */
  ready(hostId: string, f: DownloadReady): void {
    const s = this.streams.get(f.request_id);
    if (!s || s.hostId !== hostId || s.state !== 'waiting') return;
    if (s.maxBytes > 0 && f.size > s.maxBytes) return this.fail(s, tooLarge(f.size, s.maxBytes), 'too_large');
    s.state = 'streaming';
    s.exact = f.kind === 'file' ? f.size : null;
    s.cap = f.kind === 'file' ? f.size : f.size + f.entries * ARCHIVE_BYTES_PER_ENTRY + 1024 * 1024;
    s.announced = f;
    this.arm(s, this.t.stallMs);
  }

  /** The first bytes (or a clean end) arrived: the HTTP answer can start. */
  private started(s: Stream): void {
    const waiting = s.onReady;
    s.onReady = null;
    if (waiting && s.announced) waiting.resolve(s.announced);
  }

  /** `download.end`: after the last chunk (or instead of `download.ready` when refused). */
  ended(hostId: string, f: DownloadEnd): void {
    const s = this.streams.get(f.request_id);
    if (!s || s.hostId !== hostId) return;
    if (s.state === 'closed') return this.forget(s);
    if (f.error !== null || f.error_kind !== null) {
      const msg = f.error ?? 'the agent stopped the download';
      if (s.state === 'waiting') return this.fail(s, f.error_kind === 'too_large' && f.size !== null ? tooLarge(f.size, s.maxBytes) : msg, codeOf(f), false);
      return this.fail(s, `the download broke off on the agent: ${msg}`, 'invalid_state', false);
    }
    if (s.state === 'waiting') return this.fail(s, 'the agent ended the download before announcing it', 'invalid_state', false);
    s.end = f;
    this.started(s);
    s.wake?.();
  }

  /**
   * One binary frame from the host's agent. Answers null when it was taken (or dropped after a
   * cancel), or what was wrong with it: the caller reports that to the agent as a bad frame.
   */
  chunk(hostId: string, frame: Buffer): string | null {
    const c = decodeDownloadChunk(frame);
    if (!c.ok) return c.message;
    const s = this.streams.get(c.requestId);
    if (!s || s.hostId !== hostId) return 'download chunk for no open download of this host';
    if (s.received >= s.granted) {
      this.fail(s, 'the agent sent more chunks than it was granted');
      return 'download chunk without credit';
    }
    s.received++;
    if (s.state === 'closed') return null; // in flight when the download was cancelled
    if (s.state === 'waiting' || s.end) {
      this.fail(s, 'the agent sent a chunk outside the download');
      return 'download chunk before download.ready or after download.end';
    }
    if (c.seq !== s.received - 1) {
      this.fail(s, `the agent sent chunk ${c.seq} where ${s.received - 1} was due`);
      return 'download chunk out of order';
    }
    s.bytes += c.payload.length;
    if (s.bytes > s.cap) {
      this.fail(s, `the agent sent more than the ${s.cap} bytes it announced`);
      return 'download chunk past the announced size';
    }
    this.arm(s, this.t.stallMs);
    s.buffer.push(Buffer.from(c.payload)); // a copy: the frame's buffer may be pooled
    this.started(s);
    s.wake?.();
    return null;
  }

  /** The host's socket closed: its downloads fail now. */
  hostGone(hostId: string): void {
    for (const s of [...this.streams.values()]) if (s.hostId === hostId) this.fail(s, 'the agent went offline during the download', 'agent_unavailable', false);
  }

  /** Downloads not yet ended (tests, metrics). */
  openCount(): number {
    return [...this.streams.values()].filter((s) => !s.finished).length;
  }

  private body(s: Stream): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        s.controller = controller;
      },
      pull: (controller) => this.pulled(s, controller),
      cancel: () => {
        if (s.state === 'closed') return;
        s.state = 'closed';
        this.agents.send(s.hostId, { type: 'download.cancel', request_id: s.id });
        this.finish(s, { outcome: 'cancelled', bytes: s.deliveredBytes, error: 'the browser closed the download' });
        this.arm(s, 30_000, () => this.forget(s));
      },
    }, { highWaterMark: 0 });
  }

  private pulled(s: Stream, controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void {
    s.inPull = true;
    try {
      return this.pull(s, controller);
    } finally {
      s.inPull = false;
    }
  }

  /** The browser wants the next chunk: hand one over (and credit), finish, or wait for one. */
  private pull(s: Stream, controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void {
    if (s.state === 'closed') {
      if (s.deferred) controller.error(new Error(s.deferred));
      s.deferred = null;
      return;
    }
    const next = s.buffer.shift();
    if (next) {
      controller.enqueue(next);
      s.delivered++;
      s.deliveredBytes += next.length;
      const free = DOWNLOAD_WINDOW - (s.granted - s.delivered);
      if (free >= DOWNLOAD_WINDOW / 4 && !s.end) {
        s.granted += free;
        this.agents.send(s.hostId, { type: 'download.credit', request_id: s.id, chunks: free });
      }
      return;
    }
    if (s.end) {
      const e = s.end;
      if (e.bytes !== s.bytes || e.chunks !== s.received) return this.fail(s, `the agent said it sent ${e.bytes} bytes in ${e.chunks} chunks, but ${s.bytes} bytes in ${s.received} chunks arrived`);
      if (s.exact !== null && s.bytes !== s.exact) return this.fail(s, `the file is ${s.exact} bytes but ${s.bytes} arrived`);
      s.state = 'closed';
      controller.close();
      this.finish(s, { outcome: 'completed', bytes: s.deliveredBytes, error: null });
      return this.forget(s);
    }
    return new Promise<void>((resolve) => {
      s.wake = () => {
        s.wake = null;
        resolve(this.pulled(s, controller));
      };
    });
  }

  private fail(s: Stream, message: string, code: DomainError['code'] = 'invalid_state', tellAgent = true): void {
    if (s.state === 'closed') return;
    const wasWaiting = s.onReady !== null;
    s.state = 'closed';
    if (tellAgent) this.agents.send(s.hostId, { type: 'download.cancel', request_id: s.id });
    const waiting = s.onReady;
    s.onReady = null;
    waiting?.reject(new DomainError(code, message));
    // Errored while a read waits, the HTTP server destroys the connection: the browser sees a cut.
    // Errored between reads (the writer waits for the socket to drain), @hono/node-server would
    // write "Error: …" into the body and end it cleanly, so the error waits for the next read.
    if (s.wake || s.inPull || !s.controller) s.controller?.error(new Error(message));
    else s.deferred = message;
    s.buffer = [];
    const wake = s.wake;
    s.wake = null;
    wake?.();
    this.finish(s, { outcome: wasWaiting ? 'refused' : 'failed', bytes: s.deliveredBytes, error: message });
    // Chunks still in flight are dropped quietly until the agent's download.end (or 30 s).
    if (tellAgent) this.arm(s, 30_000, () => this.forget(s));
    else this.forget(s);
  }

  private finish(s: Stream, r: DownloadResult): void {
    if (s.finished) return;
    s.finished = true;
    s.done(r);
  }

  private forget(s: Stream): void {
    clearTimeout(s.timer);
    this.streams.delete(s.id);
  }

  private arm(s: Stream, ms: number, fire?: () => void): void {
    clearTimeout(s.timer);
    s.timer = setTimeout(fire ?? (() => {
      // Only a silent agent that holds credit is stalled; a slow browser just has not read yet.
      if (s.received < s.granted && !s.end) this.fail(s, `the agent sent nothing for ${Math.round(ms / 1000)} s`);
      else this.arm(s, ms);
    }), ms);
    s.timer.unref();
  }
}

function tooLarge(size: number, max: number): string {
  return `this download holds ${fmt(size)} (${size} bytes), over this server's download limit of ${fmt(max)} (RM_DOWNLOAD_MAX_BYTES); restore it with the restore wizard instead`;
}

function fmt(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]!}`;
}

function codeOf(f: DownloadEnd): DomainError['code'] {
  switch (f.error_kind) {
    case 'too_large': return 'too_large';
    case 'not_found':
    case 'unknown_snapshot': return 'not_found';
    case 'not_a_file': return 'validation_failed';
    default: return 'invalid_state';
  }
}
