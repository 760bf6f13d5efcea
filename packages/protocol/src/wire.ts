/**
 * The zod-free part of the protocol: version numbers, close codes, frame limits and the token
 * bucket both ends use for the frame rate. The idle agent imports only this module
 * (`@restic-manager/protocol/wire`), because building the zod schemas costs ~11 MB of RSS, a
 * quarter of its budget (spec §4.2); the main entry re-exports all of it.
 */

/**
 * Wire protocol version shared by the agent and the server. Bumped only on breaking changes
 * to the agent <-> server frames (spec §6.2 "Protocol versioning").
 */
export const PROTOCOL_VERSION = 1;
/** The oldest agent protocol the server still accepts; older agents get `protocol_too_old`. */
export const MIN_AGENT_PROTOCOL_VERSION = 1;
/** Protocol versions this build of the agent understands on the server side. */
export const SUPPORTED_SERVER_PROTOCOL_VERSIONS: readonly number[] = [1];

/** WebSocket close codes used on the agent socket. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolTooOld: 4000,
  unauthorized: 4001,
  badFrame: 4002,
  replaced: 4003,
  protocolUnknown: 4004,
  /** No heartbeat within the server's timeout (default 90 s). */
  heartbeatTimeout: 4005,
  /** The agent sent frames faster than AGENT_FRAME_RATE allows: reconnect after a backoff, then send slower. */
  rateLimited: 4008,
  /** Browser job stream: the session's role may not watch this job. */
  forbidden: 4403,
  /** Browser job stream: no such job. */
  notFound: 4404,
} as const;

/** A per-connection frame rate: a token bucket of `burst` frames refilled at `perSecond`. */
export interface FrameRate {
  burst: number;
  perSecond: number;
}

/**
 * What the server accepts from one agent connection before it closes it with
 * `CloseCode.rateLimited` (docs/protocol.md §5). The agent paces its reports at half of it.
 */
export const AGENT_FRAME_RATE: Readonly<FrameRate> = { burst: 5000, perSecond: 500 };

/** Largest frame either side accepts, in bytes. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * A token bucket: holds at most `rate.burst` tokens and gains `rate.perSecond` a second.
 * `take()` spends one token and answers false (spending nothing) when there is none; `waitMs()`
 * says how long until `n` tokens are there; `full()` says it can be forgotten without changing
 * any answer. The clock is injected so tests can move it.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: Readonly<FrameRate>,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = rate.burst;
    this.at = now();
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until `n` tokens (at most the burst) are available. */
  waitMs(n = 1): number {
    this.refill();
    const want = Math.min(n, this.rate.burst);
    return this.tokens >= want ? 0 : Math.ceil(((want - this.tokens) * 1000) / this.rate.perSecond);
  }

  /** True when the bucket is full again. */
  full(): boolean {
    this.refill();
    return this.tokens >= this.rate.burst;
  }

  private refill(): void {
    const t = this.now();
    if (t <= this.at) return;
    this.tokens = Math.min(this.rate.burst, this.tokens + ((t - this.at) * this.rate.perSecond) / 1000);
    this.at = t;
  }
}

export { DOWNLOAD_CHUNK_BYTES, DOWNLOAD_CHUNK_TAG, DOWNLOAD_MAX_WINDOW, decodeDownloadChunk, encodeDownloadChunk } from './download-wire.js';
export type { DecodedChunk } from './download-wire.js';
