import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import type { AgentMessage, ServerMessage } from '@restic-manager/protocol';
import { AGENT_FRAME_RATE, AgentMessage as AgentMessageSchema, CloseCode, MAX_FRAME_BYTES, MIN_AGENT_PROTOCOL_VERSION, TokenBucket, parseFrame } from '@restic-manager/protocol';
import type { FrameRate } from '@restic-manager/protocol';
import type { HostRow } from '../repositories/host.repository.js';
import type { AgentEventsService } from '../services/agent-events.service.js';
import type { ReportQuarantineService } from '../services/report-quarantine.service.js';
import { DomainError } from '../services/errors.js';
import type { AgentRegistry } from './agent-registry.js';
import { OutboxAcks, outboxSeqOf } from './outbox-acks.js';

export interface GatewayOptions {
  agentTimeoutMs: number;
  helloTimeoutMs: number;
  /** Oldest accepted agent protocol (default MIN_AGENT_PROTOCOL_VERSION). */
  minAgentProtocol?: number;
  upgradeUrl: () => string;
  now: () => number;
  /** Called after each applied frame (metrics); never throws into the gateway. */
  onFrame?: (msg: AgentMessage, host: HostRow) => void;
  /** Per-connection frame rate (default AGENT_FRAME_RATE); measured on the monotonic clock. */
  frameRate?: FrameRate;
}

/** Bytes of received frames waiting to be applied before the socket stops reading (TCP backpressure). */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/**
 * The agent WebSocket (spec §6.2) at /api/agents/ws. Authenticated by `Authorization: Bearer`
 * before the upgrade (401 otherwise). The first frame must be `hello`; the server answers with
 * hello, config.update, schedule.set, then dispatches queued jobs. Frames of one connection are
 * applied in order. A bad frame gets an `error` frame and writes nothing; the socket stays up.
 * Heartbeats are held in memory and flushed in batches; a host silent for agentTimeoutMs is
 * closed with 4005 and marked offline. Each connection may send `frameRate` frames (a token
 * bucket); beyond it the socket gets an `error rate_limited` and is closed with 4008, and frames
 * not yet applied are neither applied nor acknowledged (the agent replays them). While more than
 * 16 MiB of frames wait to be applied, the socket stops reading.
 */
export class AgentGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly lastSeen = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly events: AgentEventsService,
    private readonly quarantine: ReportQuarantineService,
    private readonly registry: AgentRegistry,
    private readonly log: Logger,
    private readonly o: GatewayOptions,
  ) {
    this.timers.push(setInterval(() => void this.flush(), 5_000).unref());
    this.timers.push(setInterval(() => this.sweep(), Math.min(15_000, Math.max(250, o.agentTimeoutMs / 3))).unref());
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const auth = req.headers.authorization ?? '';
    const bearer = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(auth)?.[1];
    let host: HostRow | undefined;
    try {
      host = bearer ? await this.events.authenticate(bearer) : undefined;
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'agent authentication failed');
    }
    if (!host) {
      this.log.warn({ ip: req.socket.remoteAddress }, 'agent connection refused: unknown or revoked bearer');
      rejectUpgrade(socket, 401, 'unauthorized', 'unknown or revoked agent bearer token; re-enroll the agent');
      return;
    }
    const h = host;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, h));
  }

  private accept(ws: WebSocket, host: HostRow): void {
    const prev = this.registry.add(host.id, ws);
    if (prev) prev.close(CloseCode.replaced, 'replaced by a newer connection');
    this.lastSeen.set(host.id, this.o.now());
    let ready = false;
    let chain = Promise.resolve();
    // Reports carrying outbox_seq are acknowledged once applied (docs/protocol.md).
    const acks = new OutboxAcks((seq) => this.sendRaw(ws, { type: 'ack', outbox_seq: seq }));
    let waiting = 0;
    const helloTimer = setTimeout(() => {
      if (!ready) this.fail(ws, 'expected_hello', `no hello within ${this.o.helloTimeoutMs} ms`, CloseCode.badFrame);
    }, this.o.helloTimeoutMs);

    const rate = this.o.frameRate ?? AGENT_FRAME_RATE;
    const bucket = new TokenBucket(rate);
    let limited = false;
    let pendingBytes = 0;

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (limited) return;
      // A download chunk the server granted is paced by its credit, not by the frame bucket; any other binary frame is counted.
      if (!(isBinary && ready) && !bucket.take()) {
        limited = true;
        this.log.warn({ host_id: host.id, burst: rate.burst, per_second: rate.perSecond }, 'agent frame rate limit exceeded; closing the connection (4008)');
        this.fail(ws, 'rate_limited', `more than ${rate.burst} frames at once or ${rate.perSecond} frames/s; reconnect after a backoff and send slower`, CloseCode.rateLimited);
        return;
      }
      // Alive is when its bytes arrive, not when they are applied: frames queue behind the ones
      // before them (a hello waits for the store while thousands of agents connect at once), and
      // a sweep that went by the applied ones closed busy agents as silent, which reconnected
      // and made the queue longer.
      if (ws.readyState === ws.OPEN) this.lastSeen.set(host.id, this.o.now());
      const size = frameSize(data);
      pendingBytes += size;
      if (pendingBytes > MAX_PENDING_BYTES && !ws.isPaused) ws.pause();
      waiting++;
      chain = chain.then(async () => {
        if (ws.readyState !== ws.OPEN) return;
        if (isBinary) {
          const problem = ready ? this.events.downloadChunk(host.id, rawToBuffer(data)) : 'binary frames are accepted only as download chunks after hello';
          if (problem === null) return;
          if (!bucket.take()) {
            limited = true;
            return this.fail(ws, 'rate_limited', `more than ${rate.burst} frames at once or ${rate.perSecond} frames/s; reconnect after a backoff and send slower`, CloseCode.rateLimited);
          }
          this.log.warn({ host_id: host.id, problem }, 'bad binary frame from an agent');
          return this.sendError(ws, 'bad_frame', problem);
        }
        const parsed = parseFrame(AgentMessageSchema, rawToBuffer(data), MAX_FRAME_BYTES);
        if (!parsed.ok) {
          this.log.warn({ host_id: host.id, code: parsed.code, problem: parsed.message }, 'bad agent frame');
          return this.sendError(ws, parsed.code, parsed.message);
        }
        const msg = parsed.value;
        if (ready) this.dirty.add(host.id); // hello writes last_seen_at itself
        if (!ready) {
          if (msg.type !== 'hello') return this.fail(ws, 'expected_hello', `the first frame must be hello, got ${msg.type}`, CloseCode.badFrame);
          clearTimeout(helloTimer);
          const min = this.o.minAgentProtocol ?? MIN_AGENT_PROTOCOL_VERSION;
          if (msg.protocol_version < min) {
            this.log.warn({ host_id: host.id, protocol_version: msg.protocol_version, min }, 'agent protocol too old');
            this.sendRaw(ws, { type: 'error', code: 'protocol_too_old', message: `agent protocol ${msg.protocol_version} is older than the minimum ${min}; upgrade the agent`, upgrade_url: this.o.upgradeUrl() });
            ws.close(CloseCode.protocolTooOld, 'protocol_too_old');
            return;
          }
          ready = true;
          const out = await this.events.hello(host, msg);
          for (const m of out) this.sendRaw(ws, m.type === 'hello' ? { ...m, outbox_acks: true, databases_report: true } : m);
          this.registry.markReady(host.id, ws);
          await this.events.afterHello(host, out);
          return;
        }
        try {
          await this.apply(host, msg);
        } catch (e) {
          // Rejected for good (unknown job, another host's job...): replaying cannot help.
          const seq = outboxSeqOf(msg);
          if (e instanceof DomainError) acks.done(seq);
          else if (seq !== undefined && (await this.quarantine.failed(host, msg, seq, e as Error)) === 'quarantined') {
            // The same report failed again while the store takes other writes: set aside, so the outbox moves on.
            this.log.error({ host_id: host.id, type: msg.type, outbox_seq: seq, err: (e as Error).message }, 'agent report quarantined');
            this.sendError(ws, 'report_quarantined', `the server could not store this ${msg.type} report after several attempts; it was set aside for an admin`);
            acks.done(seq);
            return;
          } else if (seq !== undefined) {
            // Not stored: never ack it; close so the agent replays it after reconnecting.
            acks.freeze();
            this.log.error({ host_id: host.id, err: (e as Error).message }, 'agent report not stored; closing so the agent replays it');
            this.sendError(ws, 'internal', 'the server could not store this report; it will be replayed');
            ws.close(1011, 'report not stored');
            return;
          }
          throw e;
        }
        acks.done(outboxSeqOf(msg));
        this.o.onFrame?.(msg, host);
      }).catch((e: unknown) => {
        if (e instanceof DomainError) return this.sendError(ws, e.code === 'validation_failed' ? 'bad_frame' : e.code, e.message);
        this.log.error({ host_id: host.id, err: (e as Error).message }, 'agent frame failed');
        this.sendError(ws, 'internal', 'the server could not apply this frame');
      }).then(() => {
        pendingBytes -= size;
        if (ws.isPaused && pendingBytes <= MAX_PENDING_BYTES / 2) ws.resume();
        if (--waiting === 0 && ws.readyState === ws.OPEN) acks.idle();
      });
    });
    ws.on('error', (e) => this.log.warn({ host_id: host.id, err: e.message }, 'agent socket error'));
    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (this.registry.remove(host.id, ws)) {
        this.lastSeen.delete(host.id);
        // After the frames before it are applied. A newer connection of the host by then (the agent
        // restarted while this one's frames were still being applied) is left alone: its hello
        // marks the host online, and an offline written after that would stick.
        chain = chain.then(() => (this.registry.has(host.id) ? undefined : this.events.disconnected(host.id))).catch(() => undefined);
      }
    });
  }

  private async apply(host: HostRow, m: AgentMessage): Promise<void> {
    const e = this.events;
    switch (m.type) {
      case 'hello':
        throw new DomainError('invalid_state', 'hello was already received on this connection');
      case 'heartbeat':
        return;
      case 'job.queued':
        return e.jobQueued(host, m);
      case 'job.started':
        return e.jobStarted(host, m);
      case 'job.progress':
        return e.jobProgress(host, m);
      case 'job.finished':
        return e.jobFinished(host, m);
      case 'log.stream':
        return e.logStream(host, m);
      case 'snapshots.report':
        return e.snapshotsReport(host, m);
      case 'repo.stats':
        return e.repoStats(host, m);
      case 'schedule.ack':
        return e.scheduleAck(host, m);
      case 'databases.report':
        return e.databasesReport(host, m);
      case 'vault.snapshots.report':
        return e.vaultSnapshotsReport(host, m);
      case 'snapshot.ls.result':
      case 'repo.key.result':
      case 'repo.test.result':
      case 'snapshot.diff.result':
      case 'forget.preview.result':
        return e.requestResult(host, m);
      case 'download.ready':
      case 'download.end':
        return e.download(host, m);
    }
  }

  private sendRaw(ws: WebSocket, m: ServerMessage): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
  }

  private sendError(ws: WebSocket, code: string, message: string): void {
    this.sendRaw(ws, { type: 'error', code: code === 'invalid_state' && message.startsWith('hello') ? 'unexpected_hello' : code, message });
  }

  private fail(ws: WebSocket, code: string, message: string, close: number): void {
    this.sendError(ws, code, message);
    ws.close(close, code);
  }

  /** Writes batched last_seen_at for hosts that sent frames since the last flush. */
  async flush(): Promise<void> {
    if (this.dirty.size === 0) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    try {
      await this.events.touch(ids);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'heartbeat flush failed');
    }
  }

  private sweep(): void {
    const limit = this.o.now() - this.o.agentTimeoutMs;
    for (const [id, seen] of this.lastSeen) {
      if (seen < limit) {
        this.lastSeen.delete(id);
        this.log.warn({ host_id: id }, 'agent heartbeat timeout; marking offline');
        this.registry.disconnect(id, CloseCode.heartbeatTimeout, 'heartbeat timeout');
        void this.events.disconnected(id).catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.flush();
    this.wss.close();
  }
}

function frameSize(d: RawData): number {
  return Array.isArray(d) ? d.reduce((n, b) => n + b.length, 0) : d instanceof ArrayBuffer ? d.byteLength : d.length;
}

function rawToBuffer(d: RawData): Buffer {
  if (Buffer.isBuffer(d)) return d;
  if (Array.isArray(d)) return Buffer.concat(d);
  return Buffer.from(d);
}

/** Answers an upgrade request with a plain HTTP error and a JSON error body. */
export function rejectUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  const reason = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
