import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';

export interface Frame {
  type: string;
  [k: string]: unknown;
}

/**
 * A scripted agent gateway for protocol-level tests: accepts the agent socket at /api/agents/ws,
 * records every frame, answers hello with a configurable protocol version.
 */
export class FakeServer {
  frames: Frame[] = [];
  authHeaders: string[] = [];
  sockets: WebSocket[] = [];
  protocolVersion = 1;
  private server!: http.Server;
  private wss!: WebSocketServer;
  private waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  onHello: ((ws: WebSocket) => void) | null = null;
  port = 0;
  private closed = false;

  static async start(opts: { tls?: { key: string; cert: string }; port?: number } = {}): Promise<FakeServer> {
    const s = new FakeServer();
    s.server = opts.tls ? https.createServer(opts.tls) : http.createServer();
    s.wss = new WebSocketServer({ server: s.server, path: '/api/agents/ws' });
    s.wss.on('connection', (ws, req) => {
      s.authHeaders.push(req.headers.authorization ?? '');
      s.sockets.push(ws);
      ws.on('message', (data: Buffer) => {
        const f = JSON.parse(data.toString('utf8')) as Frame;
        s.frames.push(f);
        if (f.type === 'hello') {
          ws.send(JSON.stringify({ type: 'hello', protocol_version: s.protocolVersion, server_version: 'fake', host_id: 'h1' }));
          s.onHello?.(ws);
        }
        s.waiters = s.waiters.filter((w) => {
          if (w.pred(f)) {
            w.resolve(f);
            return false;
          }
          return true;
        });
      });
    });
    await new Promise<void>((r) => s.server.listen(opts.port ?? 0, '127.0.0.1', r));
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  url(scheme = 'http'): string {
    return `${scheme}://127.0.0.1:${this.port}`;
  }

  send(frame: object): void {
    for (const ws of this.sockets) if (ws.readyState === 1) ws.send(JSON.stringify(frame));
  }

  /** Resolves with the first frame (already received or future) matching `pred`. */
  waitFor(pred: (f: Frame) => boolean, timeoutMs = 20_000): Promise<Frame> {
    const have = this.frames.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for a frame; got: ${this.frames.map((f) => f.type).join(',')}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (f) => { clearTimeout(t); resolve(f); } });
    });
  }

  /** Stops listening and drops every connection; a second call does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    await new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections?.();
  }
}
