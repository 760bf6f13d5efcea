import type { Connection, Engine, EngineError } from '@restic-manager/engines';
import type { AgentMessage, DownloadErrorKind } from '@restic-manager/protocol';
import type { Logger } from '../log.js';
import type { RepoSecrets } from '../state/secrets.js';
import type { DownloadFrame } from '../wire.js';
import { ChunkSink } from './download-sink.js';

export interface DownloadDeps {
  secrets: () => RepoSecrets | null;
  /** Runs `fn` against the host's own repository (RequestHandler.withOwn). */
  withOwn: <T>(s: RepoSecrets, label: string, fn: (conn: Connection, engine: Engine) => Promise<T>) => Promise<T>;
  send: (frame: AgentMessage) => void;
  /** One binary frame on the socket; false when the socket is not open. */
  sendBinary: (frame: Buffer, written?: () => void) => boolean;
  log: Logger;
  /** Timeout of the size check (`restic ls --recursive`), ms (default 5 min). */
  measureTimeoutMs?: number;
}

/** Downloads one agent runs at once; more are refused (the server allows fewer). */
export const MAX_AGENT_DOWNLOADS = 4;
const MEASURE_TIMEOUT_MS = 5 * 60_000;

type Start = Extract<DownloadFrame, { type: 'download.start' }>;
interface Measured { kind: 'file' | 'dir' | 'other' | null; size: number; entries: number }

/**
 * Downloads from the host's own repository (docs/protocol.md "Downloads"). For each
 * `download.start`: `restic ls --recursive` sums the sizes below the path (the size check) while
 * `restic dump` starts alongside with its output held back; once the check passes,
 * `download.ready`, then the bytes as credit allows (ChunkSink), then `download.end`. A cancel,
 * or the socket closing, stops restic. Never throws.
 */
export class Downloads {
  private readonly open = new Map<string, { abort: AbortController; sink: ChunkSink | null }>();

  constructor(private readonly d: DownloadDeps) {}

  handle(f: DownloadFrame): void {
    if (f.type === 'download.credit') return this.open.get(f.request_id)?.sink?.grant(f.chunks);
    if (f.type === 'download.cancel') return this.stop(f.request_id);
    if (this.open.has(f.request_id)) return;
    if (this.open.size >= MAX_AGENT_DOWNLOADS) return this.end(f.request_id, null, { error: `the agent already runs ${MAX_AGENT_DOWNLOADS} downloads; try again when one has finished`, error_kind: 'failed' });
    const entry = { abort: new AbortController(), sink: null as ChunkSink | null };
    this.open.set(f.request_id, entry);
    void this.run(f, entry)
      .catch((err: unknown) => {
        this.d.log.error('download failed', { error: String(err) });
        this.end(f.request_id, entry.sink, { error: 'agent error during the download', error_kind: 'failed' });
      })
      .finally(() => this.open.delete(f.request_id));
  }

  /** The socket closed: every download stops (the server has failed them already). */
  abortAll(): void {
    for (const id of this.open.keys()) this.stop(id);
  }

  /** Stops restic and lets go of what the sink holds (its flush, its held write). */
  private stop(id: string): void {
    const e = this.open.get(id);
    if (!e) return;
    e.abort.abort();
    if (e.sink && !e.sink.destroyed) e.sink.destroy();
  }

  private async run(f: Start, entry: { abort: AbortController; sink: ChunkSink | null }): Promise<void> {
    const s = this.d.secrets();
    if (!s) return this.end(f.request_id, null, { error: 'the agent has no repository credentials yet', error_kind: 'no_credentials' });
    await this.d.withOwn(s, `dl-${f.request_id.slice(0, 16)}`, async (conn, engine) => {
      if (!engine.dump) return this.end(f.request_id, null, { error: `downloads need restic; this repository uses ${engine.name}`, error_kind: 'unsupported' });
      const signal = entry.abort.signal;
      const sink = new ChunkSink(f.request_id, f.window, this.d.sendBinary);
      entry.sink = sink;
      sink.on('error', () => entry.abort.abort());
      sink.on('close', () => entry.abort.abort());
      // The dump starts now (its index loading overlaps the size check); nothing leaves before open().
      const dumping = engine.dump(conn, { snapshot: f.snapshot_id, path: f.path, archive: f.format === 'zip' ? 'zip' : 'tar', stdout: sink }, { signal });
      const refuse = async (r: { error: string; error_kind: DownloadErrorKind; size?: number }): Promise<void> => {
        entry.abort.abort();
        await dumping;
        this.end(f.request_id, null, r);
      };
      const m = await measure(engine, conn, f.snapshot_id, f.path, signal, this.d.measureTimeoutMs ?? MEASURE_TIMEOUT_MS);
      const short = f.snapshot_id.slice(0, 8);
      if (signal.aborted) return refuse({ error: 'cancelled', error_kind: 'cancelled' });
      if ('error' in m) return refuse(m);
      if (m.kind === null) return refuse({ error: `${f.path} does not exist in snapshot ${short}`, error_kind: 'not_found' });
      if (m.kind === 'other') return refuse({ error: `${f.path} is neither a file nor a folder in snapshot ${short}`, error_kind: 'not_a_file' });
      if (m.kind === 'dir' && f.format === 'raw') return refuse({ error: `${f.path} is a folder: download it as tar or zip`, error_kind: 'not_a_file' });
      if (f.max_bytes > 0 && m.size > f.max_bytes) return refuse({ error: `${f.path} holds ${m.size} bytes, over the limit of ${f.max_bytes}`, error_kind: 'too_large', size: m.size });
      this.d.send({ type: 'download.ready', request_id: f.request_id, kind: m.kind, size: m.size, entries: m.entries });
      sink.open();
      const r = await dumping;
      if (r.ok && !signal.aborted) await sink.flush();
      if (signal.aborted) return this.end(f.request_id, sink, { error: 'cancelled', error_kind: 'cancelled' });
      if (!r.ok) return this.end(f.request_id, sink, dumpError(r.error, short));
      this.d.log.info('download sent', { request_id: f.request_id, bytes: sink.bytes, chunks: sink.chunks });
      this.end(f.request_id, sink, null);
    });
  }

  private end(id: string, sink: ChunkSink | null, e: { error: string; error_kind: DownloadErrorKind; size?: number } | null): void {
    if (e && e.error_kind !== 'cancelled') this.d.log.warn('download refused or failed', { request_id: id, error: e.error });
    this.d.send({
      type: 'download.end', request_id: id, bytes: sink?.bytes ?? 0, chunks: sink?.chunks ?? 0,
      error: e?.error ?? null, error_kind: e?.error_kind ?? null, size: e?.size ?? null,
    });
    if (sink && !sink.destroyed) sink.destroy();
  }
}

/** What the path is and the sum of the file sizes at or below it (`restic ls --recursive`). */
async function measure(engine: Engine, conn: Connection, snapshot: string, path: string, signal: AbortSignal, timeoutMs: number): Promise<Measured | { error: string; error_kind: DownloadErrorKind }> {
  // No lock of its own: the dump beside it holds one for the whole download.
  const s = engine.ls(conn, { snapshot, path, recursive: true, noLock: true }, { signal, timeoutMs });
  const m: Measured = { kind: path === '/' ? 'dir' : null, size: 0, entries: 0 };
  for await (const e of s.entries) {
    if (e.path === path) m.kind = e.type === 'file' || e.type === 'dir' ? e.type : 'other';
    if (e.path !== path || e.type === 'file') m.entries++;
    if (e.type === 'file') m.size += e.size ?? 0;
  }
  const r = await s.result;
  return r.ok ? m : dumpError(r.error, snapshot.slice(0, 8));
}

function dumpError(e: EngineError, short: string): { error: string; error_kind: DownloadErrorKind } {
  const text = `${e.message}\n${e.stderrTail.join('\n')}`;
  if (/no matching ID found|invalid id/i.test(text)) return { error: `snapshot ${short} is not in the repository`, error_kind: 'unknown_snapshot' };
  if (/not found in snapshot/i.test(text)) return { error: e.message, error_kind: 'not_found' };
  if (e.kind === 'interrupted') return { error: 'cancelled', error_kind: 'cancelled' };
  return { error: e.message, error_kind: 'failed' };
}
