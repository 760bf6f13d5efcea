import WebSocket from 'ws';
import type { HostView } from '@restic-manager/protocol';
import type { CtlConfig } from './config.js';
import { CTL_EXIT, CtlError, exitOfStatus } from './exit.js';

/** A response body larger than this is refused (the API pages its lists; nothing legitimate comes near it). */
const MAX_BODY = 16 * 1024 * 1024;
const MAX_FRAME = 1024 * 1024;

type Query = Record<string, string | number | undefined>;

/** A live-stream frame (`job.started`, `job.progress`, `log.stream`, `job.finished`) as the server forwards it. */
export type StreamFrame = { type: string; job_id: string } & Record<string, unknown>;

/**
 * The REST API as the token sees it: `Authorization: Bearer` on every request, JSON in and out.
 * Every failure becomes a CtlError with the server's own message and the exit code of its
 * status (exit.ts); the token never appears in a message.
 */
export class CtlClient {
  constructor(private readonly cfg: CtlConfig) {}

  get<T>(p: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', p, query);
  }

  post<T>(p: string, body: unknown): Promise<T> {
    return this.request<T>('POST', p, {}, body);
  }

  private async request<T>(method: string, p: string, query: Query, body?: unknown): Promise<T> {
    const url = new URL(`${this.cfg.server}${p}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { authorization: `Bearer ${this.cfg.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'error' });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new CtlError(`cannot reach ${this.cfg.server}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, CTL_EXIT.failed);
    }
    const text = await res.text();
    if (text.length > MAX_BODY) throw new CtlError(`${method} ${p}: the answer is larger than ${MAX_BODY} bytes`, CTL_EXIT.failed);
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        throw new CtlError(`${method} ${p}: HTTP ${res.status} with a body that is not JSON (is ${this.cfg.server} a restic-manager server?)`, res.ok ? CTL_EXIT.failed : exitOfStatus(res.status));
      }
    }
    if (!res.ok) {
      const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
      throw new CtlError(`${err?.message ?? `HTTP ${res.status}`}${err?.code ? ` (${err.code})` : ''}`, exitOfStatus(res.status));
    }
    return data as T;
  }

  /** Every host the token may see (all pages). */
  async hosts(query: Query = {}): Promise<HostView[]> {
    const out: HostView[] = [];
    for (let offset = 0; ; ) {
      const page = await this.get<{ items: HostView[]; total: number }>('/api/hosts', { ...query, limit: 500, offset });
      out.push(...page.items);
      offset += page.items.length;
      if (page.items.length === 0 || offset >= page.total) return out;
    }
  }

  /** A host by name or id; exit 5 when the token sees no such host. */
  async host(ref: string): Promise<HostView> {
    const hosts = await this.hosts();
    const found = hosts.find((h) => h.name === ref) ?? hosts.find((h) => h.id === ref);
    if (!found) throw new CtlError(`no host named ${ref} (or not visible to this token); see 'restic-manager ctl hosts'`, CTL_EXIT.notFound);
    return found;
  }

  /**
   * Opens the live stream of a job (`WS /api/jobs/:id/stream`, the token in the Authorization
   * header). Resolves once the socket is open; frames go to `onFrame`; `closed` settles when the
   * server closes it (after job.finished) or the connection fails.
   */
  stream(jobId: string, onFrame: (f: StreamFrame) => void): Promise<{ closed: Promise<void>; close(): void }> {
    const url = `${this.cfg.server.replace(/^http/, 'ws')}/api/jobs/${encodeURIComponent(jobId)}/stream`;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.cfg.token}` }, maxPayload: MAX_FRAME });
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          if (body.length < 4096) body += d.toString();
        });
        res.on('end', () => {
          let msg = `HTTP ${res.statusCode ?? 0}`;
          try {
            msg = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? msg;
          } catch {
            /* not JSON */
          }
          reject(new CtlError(`live stream of job ${jobId}: ${msg}`, exitOfStatus(res.statusCode ?? 0)));
        });
      });
      ws.once('error', (e) => reject(new CtlError(`live stream of job ${jobId}: ${e.message}`, CTL_EXIT.failed)));
      ws.on('message', (d: Buffer) => {
        try {
          onFrame(JSON.parse(d.toString()) as StreamFrame);
        } catch {
          /* a frame that is not JSON is skipped */
        }
      });
      ws.once('open', () => {
        const closed = new Promise<void>((done) => {
          ws.once('close', () => done());
        });
        resolve({ closed, close: () => ws.close() });
      });
    });
  }
}
