import type { DownloadEnd, DownloadFormat, DownloadReady } from '@restic-manager/protocol';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import type { DownloadRelay, DownloadRequest, OpenedDownload, ReplicaTokenCheck } from './download-relay.js';
import type { DownloadResult, DownloadStreams } from './download-streams.js';
import { DomainError, notFound } from './errors.js';
import type { SnapshotBrowseService } from './snapshot-browse.service.js';

/** A download ready to be answered: headers and the body stream. */
export interface DownloadAnswer {
  /** The file name for Content-Disposition (unsafe characters replaced). */
  filename: string;
  contentType: string;
  /** The exact length for a single file (Content-Length); null for an archive. */
  length: number | null;
  body: ReadableStream<Uint8Array>;
}

/** With several replicas: downloads through the one holding the agent, and the check of the others' requests. */
export interface ReplicaDownloads {
  relay: DownloadRelay;
  tokens: ReplicaTokenCheck;
}

const CONTENT_TYPE: Record<'file' | 'tar' | 'zip', string> = { file: 'application/octet-stream', tar: 'application/x-tar', zip: 'application/zip' };

/**
 * Downloads from a snapshot in the browser (issue 16, docs/recoverability.md "Download"): a file,
 * or a folder as tar or zip, streamed by the host's agent (`restic dump`) through this server with
 * no copy on disk. Refused over `maxBytes` (RM_DOWNLOAD_MAX_BYTES, 0 = no limit) before a byte
 * moves. Every attempt that reached the agent is audited once it ended (`snapshot.download`:
 * host, snapshot, path, format, bytes, outcome). Throws DomainError: not_found, validation_failed,
 * too_large, rate_limited, agent_unavailable, invalid_state. With several replicas (`replicas`), a
 * download of an agent another replica holds is streamed from that replica over HTTP; this one
 * checks, audits and answers the browser as for its own agents (docs/scale-out.md).
 */
export class DownloadService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly browse: SnapshotBrowseService,
    private readonly streams: DownloadStreams,
    /** RM_DOWNLOAD_MAX_BYTES (0 = no limit); tests change it. */
    public maxBytes: number,
    private readonly replicas: ReplicaDownloads | null = null,
  ) {}

  async open(actor: Actor, hostId: string, snapshotId: string, rawPath: string, format: DownloadFormat): Promise<DownloadAnswer> {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    const path = normalPath(rawPath);
    const snap = await this.browse.resolveSnapshot(hostId, snapshotId);
    if (!snap) throw new DomainError('not_found', `snapshot ${snapshotId.slice(0, 64)} is not among the snapshots of host ${host.name} (refresh them with a snapshots job)`);
    if (!this.d.agents.isConnected(hostId)) throw new DomainError('agent_unavailable', `the agent of host ${host.name} is offline; try again when it is online`);
    const remote = this.d.agents.isLocal ? !this.d.agents.isLocal(hostId) : false;
    if (remote && !this.replicas) throw new DomainError('agent_unavailable', `the agent of host ${host.name} is connected to another server replica, and this one cannot reach it`);
    const record = (r: DownloadResult): void => {
      const payload = { host: host.name, snapshot_id: snap.id, path, format, bytes: r.bytes, outcome: r.outcome, ...(r.error ? { error: r.error.slice(0, 500) } : {}) };
      this.audit.record(actor, 'snapshot.download', { kind: 'host', id: hostId }, payload).catch((e: unknown) => this.d.log.error({ err: (e as Error).message }, 'cannot audit a download'));
      this.d.log.info({ host_id: hostId, snapshot_id: snap.short_id, outcome: r.outcome, bytes: r.bytes }, 'snapshot download ended');
    };
    const req: DownloadRequest = { snapshot_id: snap.id, path, format, max_bytes: this.maxBytes };
    // The binary frames come from the agent's socket: from the replica that holds it, over HTTP (never the bus).
    const { ready, body } = remote && this.replicas ? await this.replicas.relay.open({ id: hostId, name: host.name }, req, record) : await this.streams.open(hostId, req, record);
    const base = path === '/' ? `snapshot-${snap.short_id}` : path.slice(path.lastIndexOf('/') + 1);
    const kind = ready.kind === 'file' ? 'file' : format === 'zip' ? 'zip' : 'tar';
    return { filename: kind === 'file' ? base : `${base}.${kind}`, contentType: CONTENT_TYPE[kind], length: ready.kind === 'file' ? ready.size : null, body };
  }

  /**
   * A request from another replica (the internal download route): throws DomainError
   * `unauthorized` unless `token` was minted for exactly this method and path and query, for this
   * replica, within the last seconds, and never used before. The token is never logged.
   */
  checkReplicaToken(token: string | undefined, method: string, target: string, ip: string): void {
    if (this.replicas?.tokens.verify(token, method, target)) return;
    this.d.log.warn({ ip, method, present: token !== undefined }, 'refused an internal download request: missing, invalid, expired or reused replica token');
    throw new DomainError('unauthorized', 'missing, invalid, expired or reused replica token');
  }

  /**
   * Streams a download of an agent this replica holds for another replica, which checked the
   * caller's access and audits it (after checkReplicaToken). The limit is the asking replica's.
   */
  async openForReplica(hostId: string, req: DownloadRequest): Promise<OpenedDownload> {
    if (!this.d.agents.isConnected(hostId) || (this.d.agents.isLocal && !this.d.agents.isLocal(hostId))) {
      throw new DomainError('agent_unavailable', 'the agent is no longer connected to the replica asked; try again');
    }
    return this.streams.open(hostId, req, (r) => this.d.log.info({ host_id: hostId, outcome: r.outcome, bytes: r.bytes }, 'snapshot download for another replica ended'));
  }

  /** Agent frames (the gateway hands them over). */
  ready(hostId: string, f: DownloadReady): void {
    this.streams.ready(hostId, f);
  }

  ended(hostId: string, f: DownloadEnd): void {
    this.streams.ended(hostId, f);
  }

  chunk(hostId: string, frame: Buffer): string | null {
    return this.streams.chunk(hostId, frame);
  }

  hostGone(hostId: string): void {
    this.streams.hostGone(hostId);
  }

  /** Downloads not yet ended. */
  openCount(): number {
    return this.streams.openCount();
  }
}

/** An absolute snapshot path without empty, `.` or `..` segments (the root is `/`). */
export function normalPath(p: string): string {
  if (!p.startsWith('/')) throw new DomainError('validation_failed', 'path must be absolute (start with /)', { path: 'absolute path required' });
  if (p.length > 4096) throw new DomainError('validation_failed', 'path is longer than 4096 characters', { path: 'at most 4096 characters' });
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\x00-\x1f\x7f]/.test(p)) throw new DomainError('validation_failed', 'path must not contain control characters', { path: 'no control characters' });
  const segs = p.split('/').filter((s) => s !== '');
  if (segs.some((s) => s === '.' || s === '..')) throw new DomainError('validation_failed', 'path must not contain . or .. segments', { path: 'no . or .. segments' });
  return `/${segs.join('/')}`;
}

/**
 * `Content-Disposition: attachment` with an ASCII fallback name (anything outside letters,
 * digits, `. _ -` and space becomes `_`) and the real name percent-encoded in `filename*`.
 */
export function contentDisposition(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
  const clean = name.replace(/[\\/"\u0000-\u001f\u007f]/g, '_').slice(0, 200) || 'download';
  const ascii = clean.replace(/[^A-Za-z0-9._ -]/g, '_');
  const encoded = encodeURIComponent(clean).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
