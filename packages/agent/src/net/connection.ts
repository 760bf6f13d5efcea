import WebSocket from 'ws';
import type { AgentHello } from '@restic-manager/protocol';
import { CloseCode, MAX_FRAME_BYTES, PROTOCOL_VERSION, SUPPORTED_SERVER_PROTOCOL_VERSIONS, parseServerFrame } from '../wire.js';
import type { ServerFrame } from '../wire.js';
import type { Logger } from '../log.js';
import { Backoff } from './backoff.js';
import { pinnedTlsConnect } from './pin.js';
import type { AgentMessage } from '@restic-manager/protocol';

/**
 * The masking key of the agent's frames: all zero when no intermediary can read the stream — TLS
 * (`wss:`) or a loopback server — so ws skips masking (docs/decisions/0011-download-stream.md).
 * RFC 6455 masks a client's frames so that content chosen by a browser's script cannot look like
 * HTTP to a proxy in the middle; with TLS no proxy in the middle sees it, and the agent runs
 * without a JIT (--jitless), where ws's JavaScript XOR loop made a 200 MB download ten times
 * slower. Other servers (plain `ws:` over a network) keep a random key per frame.
 */
export function unparsedOnTheWay(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'wss:' || ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname);
  } catch {
    return false;
  }
}

const zeroMask = (mask: Buffer): void => void mask.fill(0);

export type ConnectionState = 'connecting' | 'ready' | 'disconnected' | 'refused' | 'stopped';

export interface ConnectionOptions {
  /** Server base URL (http(s)://host[:port][/prefix]); the socket path is appended. */
  serverUrl: string;
  bearer: string;
  certPin?: string;
  /** Agent socket path on the server (default `/api/agents/ws`). */
  wsPath?: string;
  /** Full socket URL; overrides serverUrl + wsPath. */
  wsUrl?: string;
  heartbeatMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Backoff after the server closed the socket with 4008 rate_limited (default 5 s doubling to 5 min). */
  rateLimitBackoff?: { initialMs: number; maxMs: number };
  /** Builds the hello frame on every (re)connect. */
  hello: () => Omit<AgentHello, 'type' | 'protocol_version'>;
  heartbeat: () => { running_job_ids: string[] };
  /** Called for every valid server frame after the server hello was accepted. */
  onMessage: (msg: ServerFrame) => void;
  onStateChange?: (state: ConnectionState, reason?: string) => void;
  log: Logger;
}

/**
 * The agent's one outbound WebSocket. Reconnects forever with exponential backoff and jitter;
 * sends `hello` on open and waits for the server's `hello` (refusing unknown protocol versions);
 * after a `4008 rate_limited` close it waits its own, longer backoff (`rateLimitBackoff`);
 * heartbeats every `heartbeatMs`; detects a dead peer by ping/pong. `ping()` resolves once the
 * server has read everything sent before it — the outbox's acknowledgement with servers that
 * predate `ack` frames (docs/protocol.md, "Outbox acknowledgement").
 */
export class AgentConnection {
  private ws: WebSocket | null = null;
  private state: ConnectionState = 'disconnected';
  private readonly backoff: Backoff;
  /** Not reset by a successful hello: only a connection that ends for another reason resets it. */
  private readonly rateBackoff: Backoff;
  private timer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private pongWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private lastPongAt = 0;
  private stopped = false;
  private readonly url: string;

  constructor(private readonly opts: ConnectionOptions) {
    this.backoff = new Backoff(opts.backoff ?? { initialMs: 1000, maxMs: 60_000 });
    this.rateBackoff = new Backoff(opts.rateLimitBackoff ?? { initialMs: 5000, maxMs: 300_000 });
    const base = opts.serverUrl.replace(/\/+$/, '').replace(/^http/i, 'ws');
    this.url = opts.wsUrl ?? base + (opts.wsPath ?? '/api/agents/ws');
  }

  getState(): ConnectionState {
    return this.state;
  }

  isReady(): boolean {
    return this.state === 'ready';
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stopHeartbeat();
    this.ws?.close(CloseCode.goingAway, 'agent shutting down');
    this.ws?.terminate();
    this.ws = null;
    this.setState('stopped');
  }

  /** Sends one frame if the connection is ready. Returns false (and sends nothing) otherwise. */
  send(frame: AgentMessage): boolean {
    if (this.state !== 'ready' || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Sends one binary frame (a download chunk) if the connection is ready; false otherwise.
   * `written` runs once the frame left for the socket (or failed): its buffer may be reused then.
   */
  sendBinary(frame: Buffer, written?: () => void): boolean {
    if (this.state !== 'ready' || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(frame, { binary: true }, written ? () => written() : undefined);
    return true;
  }

  /** Resolves when the server answers a ping sent now; rejects if the connection drops first. */
  ping(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error('not connected'));
        return;
      }
      this.pongWaiters.push({ resolve, reject });
      this.ws.ping();
    });
  }

  private setState(s: ConnectionState, reason?: string): void {
    this.state = s;
    this.opts.onStateChange?.(s, reason);
  }

  private open(): void {
    if (this.stopped) return;
    this.setState('connecting');
    const headers = { authorization: `Bearer ${this.opts.bearer}` };
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, {
        headers,
        maxPayload: MAX_FRAME_BYTES,
        handshakeTimeout: 15_000,
        ...(unparsedOnTheWay(this.url) ? { generateMask: zeroMask } : {}),
        ...(this.opts.certPin && this.url.startsWith('wss:') ? { createConnection: pinnedTlsConnect(this.opts.certPin) as never } : {}),
      });
    } catch (err) {
      this.opts.log.error('cannot open the server connection', { error: (err as Error).message });
      this.scheduleReconnect('bad url', true);
      return;
    }
    this.ws = ws;
    let refusedReason: string | null = null;
    let closeReason = 'connection closed';
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', protocol_version: PROTOCOL_VERSION, ...this.opts.hello() }));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const r = parseServerFrame(data);
      if (!r.ok) {
        this.opts.log.warn('ignoring an invalid frame from the server', { detail: r.message });
        return;
      }
      const msg = r.value;
      if (this.state !== 'ready') {
        if (msg.type === 'error') {
          refusedReason = `${msg.code}: ${msg.message}${msg.upgrade_url ? ` (see ${msg.upgrade_url})` : ''}`;
          this.opts.log.error('the server refused this agent', { code: msg.code, message: msg.message, upgrade_url: msg.upgrade_url });
          return;
        }
        if (msg.type !== 'hello') {
          this.opts.log.warn('server sent a frame before hello; ignoring it', { frame_type: msg.type });
          return;
        }
        if (!SUPPORTED_SERVER_PROTOCOL_VERSIONS.includes(msg.protocol_version)) {
          refusedReason = `server speaks protocol version ${msg.protocol_version}; this agent understands ${SUPPORTED_SERVER_PROTOCOL_VERSIONS.join(', ')}`;
          this.opts.log.error(`refusing to proceed: ${refusedReason}. Upgrade the agent (or the server) so both speak a common protocol version.`);
          ws.close(CloseCode.protocolUnknown, 'unknown server protocol version');
          return;
        }
        this.backoff.reset();
        this.lastPongAt = Date.now();
        this.setState('ready');
        this.opts.log.info('connected to the server', { url: this.url, host_id: msg.host_id, server_version: msg.server_version });
        this.startHeartbeat();
      }
      this.opts.onMessage(msg);
    });
    ws.on('pong', () => {
      this.lastPongAt = Date.now();
      this.pongWaiters.shift()?.resolve();
    });
    ws.on('unexpected-response', (_req, res) => {
      closeReason = `server answered the upgrade with HTTP ${res.statusCode}`;
      if (res.statusCode === 401 || res.statusCode === 403) {
        refusedReason = `${closeReason}: the agent bearer was rejected (re-enroll the host)`;
        this.opts.log.error(refusedReason);
      }
      ws.terminate();
    });
    ws.on('error', (err: Error & { code?: string }) => {
      closeReason = err.message;
      if (err.code === 'cert_pin_mismatch') {
        refusedReason = err.message;
        this.opts.log.error(err.message);
      } else if (this.state === 'connecting') {
        this.opts.log.warn('cannot reach the server', { url: this.url, error: err.message });
      }
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.ws === ws) this.ws = null;
      this.stopHeartbeat();
      const waiters = this.pongWaiters;
      this.pongWaiters = [];
      for (const w of waiters) w.reject(new Error('connection closed'));
      if (this.stopped) return;
      const text = reason.toString('utf8');
      if (code === CloseCode.protocolTooOld || code === CloseCode.unauthorized || code === CloseCode.protocolUnknown) {
        refusedReason ??= `server closed the connection with code ${code}${text ? `: ${text}` : ''}`;
      }
      if (code === CloseCode.replaced) this.opts.log.warn('another connection with this host identity replaced this one');
      if (code === CloseCode.rateLimited) {
        const delay = this.rateBackoff.next();
        this.opts.log.warn('the server closed the connection for sending too fast (4008); backing off before reconnecting', { in_ms: delay, reason: text });
        this.scheduleReconnect('rate limited by the server', false, delay);
        return;
      }
      this.rateBackoff.reset();
      const wasReady = this.state === 'ready';
      if (wasReady) this.opts.log.warn('disconnected from the server', { code, reason: text || closeReason });
      this.scheduleReconnect(refusedReason ?? closeReason, refusedReason !== null);
    });
  }

  private scheduleReconnect(reason: string, refused: boolean, after?: number): void {
    if (this.stopped) return;
    this.setState(refused ? 'refused' : 'disconnected', reason);
    const delay = after ?? (refused ? Math.max(this.backoff.next(), this.opts.backoff?.maxMs ?? 60_000) : this.backoff.next());
    this.opts.log.debug('reconnecting', { in_ms: delay });
    this.timer = setTimeout(() => {
      this.timer = null;
      this.open();
    }, delay);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const every = this.opts.heartbeatMs ?? 30_000;
    this.heartbeatTimer = setInterval(() => {
      const ws = this.ws;
      if (!ws || this.state !== 'ready') return;
      if (Date.now() - this.lastPongAt > every * 2 + 5000) {
        this.opts.log.warn('server stopped answering pings; reconnecting');
        ws.terminate();
        return;
      }
      this.send({ type: 'heartbeat', ts: new Date().toISOString(), ...this.opts.heartbeat() });
      this.ping().catch(() => undefined);
    }, every);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }
}
