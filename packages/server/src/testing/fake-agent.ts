import WebSocket from 'ws';
import type { ServerMessage } from '@restic-manager/protocol';
import { PROTOCOL_VERSION } from '@restic-manager/protocol';

export interface FakeAgentOptions {
  /** Server base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  bearer: string;
  hostname?: string;
  protocolVersion?: number;
  activeJobIds?: string[];
  /** `hello.features` (absent: an agent that predates them). */
  features?: string[];
  /** Extra (additive) hello fields, e.g. `vault_identity`. */
  hello?: Record<string, unknown>;
  /** How long connect() waits for the server's hello (default 5 s). */
  helloTimeoutMs?: number;
  /** Called for every frame from the server (after it is recorded). */
  onMessage?: (m: ServerMessage, agent: FakeAgent) => void;
}

type Closed = { code: number; reason: string };

/**
 * A scripted, protocol-level agent: speaks the §6.2 frames over a real WebSocket, runs no
 * restic. For integration tests, the fleet benchmark and other packages' e2e tests.
 * Sequence numbers per job are tracked by `nextSeq(jobId)`.
 */
export class FakeAgent {
  readonly received: ServerMessage[] = [];
  ws: WebSocket | undefined;
  closed: Promise<Closed> = Promise.resolve({ code: 0, reason: 'never opened' });
  private waiters: { type: string | undefined; resolve: (m: ServerMessage) => void }[] = [];
  private readonly seqs = new Map<string, number>();
  private outboxSeq = 0;

  constructor(readonly o: FakeAgentOptions) {}

  /** POST /api/agents/enroll with a token; returns the host id and the agent bearer. */
  static async enroll(url: string, token: string, hostname = 'fake-host'): Promise<{ host_id: string; bearer_token: string; status: number }> {
    const res = await fetch(`${url}/api/agents/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, hostname, os: 'linux', arch: 'x64', agent_version: '0.0.0-fake', restic_version: '0.14.0' }),
    });
    const body = (await res.json()) as { host_id: string; bearer_token: string };
    return { ...body, status: res.status };
  }

  /** Opens the socket (rejects with the HTTP status on a refused upgrade). */
  open(): Promise<void> {
    const ws = new WebSocket(`${this.o.url.replace(/^http/, 'ws')}/api/agents/ws`, { headers: { authorization: `Bearer ${this.o.bearer}` } });
    this.ws = ws;
    this.closed = new Promise<Closed>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data) => {
      let m: ServerMessage;
      try {
        m = JSON.parse(data.toString()) as ServerMessage;
      } catch {
        return;
      }
      this.received.push(m);
      const i = this.waiters.findIndex((w) => w.type === undefined || w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(m);
      this.o.onMessage?.(m, this);
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** open() + hello; resolves with the server's hello. */
  async connect(): Promise<ServerMessage> {
    await this.open();
    const hello = this.next('hello', this.o.helloTimeoutMs);
    this.send({
      type: 'hello', protocol_version: this.o.protocolVersion ?? PROTOCOL_VERSION, agent_version: '0.0.0-fake', restic_version: '0.14.0',
      hostname: this.o.hostname ?? 'fake-host', os: 'linux', arch: 'x64', active_job_ids: this.o.activeJobIds ?? [],
      ...(this.o.features ? { features: this.o.features } : {}),
      ...this.o.hello,
    });
    return hello;
  }

  send(frame: object | string): void {
    this.ws?.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Takes the oldest unconsumed frame (of `type`, if given), waiting for it if needed. */
  next(type?: string, timeoutMs = 5000): Promise<ServerMessage> {
    const idx = this.received.findIndex((m) => type === undefined || m.type === type);
    if (idx >= 0) {
      const m = this.received[idx]!;
      this.received.splice(idx, 1);
      return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const w = {
        type,
        resolve: (m: ServerMessage) => {
          clearTimeout(t);
          this.received.splice(this.received.indexOf(m), 1);
          resolve(m);
        },
      };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no ${type ?? 'frame'} within ${timeoutMs} ms (received: ${this.received.map((m) => m.type).join(', ') || 'nothing'})`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
  nextSeq(jobId: string): number {
    const n = (this.seqs.get(jobId) ?? -1) + 1;
    this.seqs.set(jobId, n);
    return n;
  }

  heartbeat(running: string[] = []): void {
    this.send({ type: 'heartbeat', ts: new Date().toISOString(), running_job_ids: running });
  }

  started(jobId: string, kind: string, scheduleId?: string): void {
    this.send({ type: 'job.started', job_id: jobId, seq: this.nextSeq(jobId), kind, started_at: new Date().toISOString(), ...(scheduleId ? { schedule_id: scheduleId } : {}) });
  }

  progress(jobId: string, fraction: number): void {
    this.send({
      type: 'job.progress', job_id: jobId, seq: this.nextSeq(jobId), percent_done: fraction, files_done: Math.round(fraction * 100), total_files: 100,
      bytes_done: Math.round(fraction * 1e6), total_bytes: 1e6, eta_seconds: 1, throughput_bps: 1e6,
    });
  }

  logLine(jobId: string, payload: string, stream: 'stdout' | 'stderr' | 'event' = 'stdout'): void {
    this.send({ type: 'log.stream', job_id: jobId, seq: this.nextSeq(jobId), ts: new Date().toISOString(), stream, payload });
  }

  finished(jobId: string, status: 'succeeded' | 'failed' | 'cancelled', extra: { error?: string; error_kind?: string; stats?: Record<string, unknown> } = {}, outboxSeq?: number): void {
    this.send({
      type: 'job.finished', job_id: jobId, seq: this.nextSeq(jobId), status, exit_code: status === 'succeeded' ? 0 : 1,
      stats: extra.stats ?? null, error: extra.error ?? null, error_kind: extra.error_kind ?? null, finished_at: new Date().toISOString(),
      ...(outboxSeq !== undefined ? { outbox_seq: outboxSeq } : {}),
    });
  }

  /**
   * `finished`, resolved once the server has applied all of it (its job, host and alerts): the
   * report carries an outbox_seq and the server acknowledges it only after it is committed.
   */
  async finishedApplied(jobId: string, status: 'succeeded' | 'failed' | 'cancelled', extra: { error?: string; error_kind?: string; stats?: Record<string, unknown> } = {}): Promise<void> {
    const seq = ++this.outboxSeq;
    this.finished(jobId, status, extra, seq);
    await this.acked(seq);
  }

  /** Sends a report (repo.stats, snapshots.report…) with an outbox_seq; resolves once the server has applied it. */
  async sendApplied(frame: Record<string, unknown>): Promise<void> {
    const seq = ++this.outboxSeq;
    this.send({ ...frame, outbox_seq: seq });
    await this.acked(seq);
  }

  private async acked(seq: number): Promise<void> {
    for (;;) if (((await this.next('ack')) as { outbox_seq: number }).outbox_seq >= seq) return;
  }

  async close(): Promise<Closed> {
    if (this.ws && this.ws.readyState <= 1) this.ws.close(1000, 'bye');
    return this.closed;
  }
}
