import http from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import https from 'node:https';
import { z } from 'zod';
import { DownloadReady, DownloadStart } from '@restic-manager/protocol';
import type { DownloadRelay, DownloadRequest, OpenedDownload } from '../services/download-relay.js';
import type { DownloadResult } from '../services/download-streams.js';
import { DomainError } from '../services/errors.js';
import type { DomainErrorCode } from '../services/errors.js';
import type { ReplicaAddress } from './cluster-agent-link.js';
import type { RelayRequest } from './relay-token.js';
import { RELAY_HEADER } from './relay-token.js';

/** The internal route a replica serves the downloads of its agents at, for the other replicas. */
export const REPLICA_DOWNLOAD_PATH = '/api/internal/replica/downloads';
/** The holder's answer header with what the agent announced (kind, size, entries). */
export const READY_HEADER = 'x-rm-download-ready';

/** The internal route's query: the agent's download.start fields (the asking replica checked access). */
export const ReplicaDownloadQuery = DownloadStart.pick({ snapshot_id: true, path: true, format: true }).extend({
  max_bytes: z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
const Announced = DownloadReady.pick({ kind: true, size: true, entries: true });
const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string().max(4000) }) });
const PASSED: ReadonlySet<string> = new Set<DomainErrorCode>(['not_found', 'validation_failed', 'too_large', 'rate_limited', 'agent_unavailable', 'invalid_state']);
const MAX_ERROR_BODY = 64 * 1024;

export interface ReplicaDownloadClientOptions {
  /** How long the holder may take to answer (its own wait for the agent is 120 s; default 130 s). */
  answerMs?: number;
}

/**
 * The asking side of a download through another replica (docs/decisions/server-0013-downloads-across-replicas.md):
 * a GET to the holder's internal route with a token minted for exactly that request, whose body
 * is handed to the browser as it reads (a pull per chunk: back-pressure reaches the holder through
 * TCP and the agent through the holder's credit window), with nothing stored. The browser going
 * away destroys the request, which cancels the download on the holder and the agent; the holder
 * failing mid-stream cuts the browser's transfer.
 */
export class ReplicaDownloadClient implements DownloadRelay {
  constructor(
    private readonly holder: (hostId: string) => ReplicaAddress | null,
    private readonly mint: (r: RelayRequest) => string,
    private readonly o: ReplicaDownloadClientOptions = {},
  ) {}

  async open(host: { id: string; name: string }, req: DownloadRequest, done: (r: DownloadResult) => void): Promise<OpenedDownload> {
    let finished = false;
    const finish = (r: DownloadResult): void => {
      if (!finished) done(r);
      finished = true;
    };
    try {
      return await this.request(host, req, finish);
    } catch (e) {
      const err = e instanceof DomainError ? e : new DomainError('agent_unavailable', `the server replica holding the agent of host ${host.name} could not be reached: ${(e as Error).message}`);
      finish({ outcome: 'refused', bytes: 0, error: err.message });
      throw err;
    }
  }

  private async request(host: { id: string; name: string }, req: DownloadRequest, finish: (r: DownloadResult) => void): Promise<OpenedDownload> {
    const at = this.holder(host.id);
    if (!at) throw new DomainError('agent_unavailable', `the agent of host ${host.name} is offline; try again when it is online`);
    if (!at.url) throw new DomainError('agent_unavailable', `the agent of host ${host.name} is connected to a server replica that announced no internal URL (it listens on every interface and RM_CLUSTER_URL is not set there); set RM_CLUSTER_URL on that replica`);
    const query = new URLSearchParams({ snapshot_id: req.snapshot_id, path: req.path, format: req.format, max_bytes: String(req.max_bytes) });
    const url = new URL(`${REPLICA_DOWNLOAD_PATH}/${encodeURIComponent(host.id)}?${query.toString()}`, at.url);
    const target = `${url.pathname}${url.search}`;
    const token = this.mint({ method: 'GET', target, replica: at.replica });
    const { request, response } = get(url, { [RELAY_HEADER]: token }, this.o.answerMs ?? 130_000);
    const res = await response;
    if (res.statusCode !== 200) throw await refusal(res, host.name);
    const ready = Announced.safeParse(parseJson(String(res.headers[READY_HEADER] ?? '')));
    if (!ready.success) {
      request.destroy();
      throw new DomainError('invalid_state', `the server replica holding the agent of host ${host.name} answered without the download's size`);
    }
    const announced: DownloadReady = { type: 'download.ready', request_id: 'relayed', ...ready.data };
    return { ready: announced, body: relayBody(request, res, announced, finish) };
  }
}

/** A GET whose answer resolves with the headers; fails after `answerMs` without them. */
function get(url: URL, headers: Record<string, string>, answerMs: number): { request: ClientRequest; response: Promise<IncomingMessage> } {
  // A connection per download (no pooled socket the holder may be closing at that moment).
  const request = (url.protocol === 'https:' ? https : http).request(url, { method: 'GET', headers, agent: false });
  // Errors after the answer arrived reach the body's reader (a cut); none may go unhandled.
  request.on('error', () => undefined);
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${Math.round(answerMs / 1000)} s`)), answerMs);
    timer.unref();
    request.once('response', (res) => {
      clearTimeout(timer);
      res.on('error', () => undefined);
      resolve(res);
    });
    request.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  request.end();
  return { request, response };
}

/** The holder's refusal as the same DomainError (code and message unchanged), read from a bounded body. */
async function refusal(res: IncomingMessage, hostName: string): Promise<DomainError> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of res as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_ERROR_BODY) break;
      chunks.push(c);
    }
  } catch {
    // the message below says what is known
  }
  res.destroy();
  const body = ErrorBody.safeParse(parseJson(Buffer.concat(chunks).toString('utf8')));
  if (res.statusCode === 401) return new DomainError('agent_unavailable', `the server replica holding the agent of host ${hostName} refused this replica's token: do all replicas share the same secret key file (RM_SECRET_KEY_FILE), and are their clocks in step?`);
  if (body.success && PASSED.has(body.data.error.code) && !body.data.error.message.startsWith('no route for')) return new DomainError(body.data.error.code as DomainErrorCode, body.data.error.message);
  return new DomainError('agent_unavailable', `the server replica holding the agent of host ${hostName} answered HTTP ${res.statusCode ?? 0}${res.statusCode === 404 ? ' (is it an older version without downloads for other replicas?)' : ''}`);
}

/** The holder's body as the browser's: one chunk per pull; cancel destroys the request. */
function relayBody(request: ClientRequest, res: IncomingMessage, ready: DownloadReady, finish: (r: DownloadResult) => void): ReadableStream<Uint8Array> {
  const chunks = (res as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let bytes = 0;
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, message: string): void => {
    request.destroy();
    controller.error(new Error(message));
    finish({ outcome: 'failed', bytes, error: message });
  };
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (e) {
        return fail(controller, `the download broke off between server replicas: ${(e as Error).message}`);
      }
      if (!next.done) {
        bytes += next.value.length;
        controller.enqueue(next.value);
        return;
      }
      if (!res.complete) return fail(controller, 'the download broke off between server replicas');
      if (ready.kind === 'file' && bytes !== ready.size) return fail(controller, `the file is ${ready.size} bytes but ${bytes} arrived`);
      controller.close();
      finish({ outcome: 'completed', bytes, error: null });
    },
    cancel: () => {
      request.destroy();
      finish({ outcome: 'cancelled', bytes, error: 'the browser closed the download' });
    },
  }, { highWaterMark: 0 });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
