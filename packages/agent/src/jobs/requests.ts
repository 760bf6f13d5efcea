import type { Connection, Engine, EngineError, Result } from '@restic-manager/engines';
import type { Logger } from '../log.js';
import type { RepoSecrets } from '../state/secrets.js';
import type { DownloadFrame, RequestFrame } from '../wire.js';
import type { Downloads } from './download.js';
import type { AgentMessage, LsErrorKind, RepositoryConfig } from '@restic-manager/protocol';
import { answerInspect } from './inspect.js';
import { LsCache } from './ls-cache.js';
import { ownRepository } from './job-access.js';
import type { LsChild } from './ls-cache.js';

export interface RequestDeps {
  /** `name` is the repository's engine for repo.test (default restic). */
  engine: (name?: 'restic' | 'rustic') => Promise<Engine>;
  /** The host's own routine credentials; requests always act on the host's own repository. */
  secrets: () => RepoSecrets | null;
  /** Sends the answer on the socket (not through the outbox: answers are never replayed). */
  send: (frame: AgentMessage) => void;
  /** One binary frame on the socket (download chunks); false when the socket is not open. */
  sendBinary?: (frame: Buffer, written?: () => void) => boolean;
  log: Logger;
  cacheDir?: string;
  /** Per-request timeout for restic, ms (default 60 s; repo.test: 30 s). */
  timeoutMs?: number;
  /** Where a repo.test's private credential-file directory is made (state/job-files.ts). */
  jobFilesDir: string;
  /** Repositories the server delivered (config.update.repositories): the primary's backend credentials come from here. */
  repositories?: () => readonly RepositoryConfig[];
  /** Largest directory listing kept in memory for paging (default LS_CACHE_MAX_ENTRIES). */
  lsCacheMaxEntries?: number;
}

type LsEntryType = LsChild['type'];
type Child = LsChild;

const parentOf = (p: string): string => {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
};

/**
 * Answers the server's request frames (`snapshot.ls`, `repo.key.add`, `repo.key.remove`,
 * `repo.test`) with exactly one result frame each. Never throws; failures become `error` in the answer. A
 * temporary key's password is registered with the logger as a secret and never stored.
 */
export class RequestHandler {
  /** The directory being browsed (issue 22: later pages of a large directory come from memory). */
  private readonly cache: LsCache;
  /** Listings being read, by cache key: a request for the same directory waits for it. */
  private readonly listing = new Map<string, Promise<void>>();
  /** Downloads (jobs/download.ts), loaded with the first one; frames are handed over in order. */
  private downloads: Promise<Downloads> | null = null;

  constructor(private readonly d: RequestDeps) {
    this.cache = new LsCache(undefined, d.lsCacheMaxEntries);
  }

  handle(f: RequestFrame): void {
    if (f.type === 'snapshot.diff' || f.type === 'forget.preview') return answerInspect({ ...this.d, withOwn: (s, label, fn) => this.withOwn(s, label, fn) }, f);
    const work = f.type === 'snapshot.ls' ? this.ls(f) : f.type === 'repo.test' ? this.test(f) : this.key(f);
    void work.catch((err: unknown) => {
      this.d.log.error('request failed', { type: f.type, error: String(err) });
      this.d.send(f.type === 'snapshot.ls'
        ? { type: 'snapshot.ls.result', request_id: f.request_id, entries: [], has_more: false, error: 'agent error while listing', error_kind: 'failed' }
        : f.type === 'repo.test'
          ? { type: 'repo.test.result', request_id: f.request_id, ok: false, empty: false, snapshot_count: null, error_kind: 'failed', error: 'agent error while testing the repository' }
          : { type: 'repo.key.result', request_id: f.request_id, key_id: null, error: 'agent error' });
    });
  }

  /** `download.start`, `download.credit`, `download.cancel` (docs/protocol.md "Downloads"). */
  download(f: DownloadFrame): void {
    if (!this.downloads) {
      if (f.type !== 'download.start') return; // nothing runs: a credit or cancel for no download
      this.downloads = import('./download.js').then(({ Downloads }) => new Downloads({
        secrets: this.d.secrets, send: this.d.send, log: this.d.log, sendBinary: this.d.sendBinary ?? (() => false),
        withOwn: (s, label, fn) => this.withOwn(s, label, fn),
      }));
    }
    void this.downloads.then((d) => d.handle(f));
  }

  /** The socket closed: running downloads stop. */
  stopDownloads(): void {
    void this.downloads?.then((d) => d.abortAll());
  }

  /** `repo.test`: open the request's repository with its own credentials (jobs/repo-test.ts). */
  private async test(f: Extract<RequestFrame, { type: 'repo.test' }>): Promise<void> {
    const { testRepository } = await import('./repo-test.js');
    const answer = await testRepository(f, { engine: this.d.engine, log: this.d.log, jobFilesDir: this.d.jobFilesDir });
    this.d.send({ type: 'repo.test.result', request_id: f.request_id, ...answer });
  }

  /**
   * Runs `fn` against the host's own repository: with its backend credentials (an S3, SFTP, …
   * primary), opened in a private directory removed afterwards, when the server delivered them in
   * config.update.repositories; else with the routine URL and password.
   */
  private async withOwn<T>(s: RepoSecrets, label: string, fn: (conn: Connection, engine: Engine) => Promise<T>): Promise<T> {
    const repo = ownRepository(s, this.d.repositories?.() ?? []);
    if (!repo) return fn(this.conn(s), await this.d.engine());
    const { openRepository } = await import('./repo-access.js');
    const opened = await openRepository(repo, this.d.jobFilesDir, label);
    try {
      return await fn({ ...opened.conn, ...(this.d.cacheDir ? { cacheDir: this.d.cacheDir } : {}) }, await this.d.engine(repo.engine));
    } finally {
      await opened.close();
    }
  }

  private conn(s: RepoSecrets): Connection {
    return {
      repository: s.repository, password: s.password,
      ...(s.rest_username ? { restUsername: s.rest_username } : {}),
      ...(s.rest_password ? { restPassword: s.rest_password } : {}),
      ...(this.d.cacheDir ? { cacheDir: this.d.cacheDir } : {}),
    };
  }

  /**
   * Streams `restic ls --json <snapshot> <dir>` (direct children only: no --recursive) and keeps
   * only the requested page; leaving the stream early stops restic.
   */
  private async ls(f: Extract<RequestFrame, { type: 'snapshot.ls' }>): Promise<void> {
    const reply = (r: { entries?: Child[]; has_more?: boolean; error?: string; error_kind?: LsErrorKind }): void =>
      this.d.send({ type: 'snapshot.ls.result', request_id: f.request_id, entries: r.entries ?? [], has_more: r.has_more ?? false, error: r.error ?? null, error_kind: r.error_kind ?? null });
    const s = this.d.secrets();
    if (!s) return reply({ error: 'the agent has no repository credentials yet', error_kind: 'no_credentials' });
    await this.withOwn(s, `ls-${f.request_id.slice(0, 16)}`, (conn, engine) => this.lsPage(f, conn, engine, reply));
  }

  /**
   * One page of a directory's direct children. The first request streams `restic ls` to the end
   * (answering as soon as its page is full) and keeps the whole listing (ls-cache.ts), so later
   * pages of the same directory come from memory; a directory over the cache's cap is streamed
   * for each page and the stream stops once the page is full.
   */
  private async lsPage(f: Extract<RequestFrame, { type: 'snapshot.ls' }>, conn: Connection, engine: Engine, reply: (r: { entries?: Child[]; has_more?: boolean; error?: string; error_kind?: LsErrorKind }) => void): Promise<void> {
    const dir = f.path.length > 1 ? f.path.replace(/\/+$/, '') : '/';
    const key = `${conn.repository}\u0000${f.snapshot_id}\u0000${dir}`;
    const pageOf = (all: Child[]): { entries: Child[]; has_more: boolean } => ({ entries: all.slice(f.offset, f.offset + f.limit), has_more: all.length > f.offset + f.limit });
    // A page asked for while the directory's first listing still reads on waits for it.
    await this.listing.get(key);
    const cached = this.cache.get(key);
    if (cached) return reply(pageOf(cached.children));
    let done = (): void => undefined;
    this.listing.set(key, new Promise<void>((r) => (done = r)));
    try {
      await this.streamPage(f, conn, engine, dir, key, reply);
    } finally {
      this.listing.delete(key);
      done();
    }
  }

  private async streamPage(f: Extract<RequestFrame, { type: 'snapshot.ls' }>, conn: Connection, engine: Engine, dir: string, key: string, reply: (r: { entries?: Child[]; has_more?: boolean; error?: string; error_kind?: LsErrorKind }) => void): Promise<void> {
    // Always name the directory: without one restic lists the whole snapshot recursively.
    const stream = engine.ls(conn, { snapshot: f.snapshot_id, path: dir }, { timeoutMs: this.d.timeoutMs ?? 60_000 });
    const all: Child[] = [];
    const page: Child[] = [];
    let index = 0;
    let replied = false;
    let complete = true;
    let self: LsEntryType | null = dir === '/' ? 'dir' : null;
    for await (const e of stream.entries) {
      if (e.path === dir) {
        self = e.type;
        continue;
      }
      if (parentOf(e.path) !== dir) continue;
      if (index >= f.offset + f.limit && !replied) {
        // The page is full: answer now; keep reading only to fill the cache.
        replied = true;
        reply({ entries: page, has_more: true });
      }
      if (replied && !complete) break;
      const child: Child = { name: e.name, type: e.type, size: e.type === 'file' ? (e.size ?? 0) : null, mtime: e.mtime ?? null, mode: e.mode ?? null };
      if (index >= f.offset && index < f.offset + f.limit) page.push(child);
      if (complete && this.cache.fits(all.length + 1)) all.push(child);
      else if (complete) {
        complete = false; // too large to keep: this page is streamed like every other
        all.length = 0;
        if (replied) break;
      }
      index++;
    }
    const r = await stream.result;
    if (r.ok && complete && self === 'dir') this.cache.set(key, { children: all });
    if (replied) return;
    if (!r.ok) return reply(lsError(r.error, f.snapshot_id));
    if (self === null) return reply({ error: `${dir} does not exist in snapshot ${f.snapshot_id.slice(0, 8)}`, error_kind: 'not_found' });
    if (self !== 'dir') return reply({ error: `${dir} is not a directory in snapshot ${f.snapshot_id.slice(0, 8)}`, error_kind: 'not_found' });
    reply({ entries: page, has_more: false });
  }

  /**
   * Retries `fn` while restic reports a held lock (a backup or another restic run of this
   * repository). The first time, stale locks are removed (`restic unlock`: only locks restic
   * itself finds stale — a dead process on this host, or older than 30 minutes): restic 0.14's
   * exclusive lock (`key add`/`key remove`) is refused by the lock file of any process killed -9,
   * e.g. by the kernel when its agent died, however long dead.
   */
  private async lockRetry<T>(fn: () => Promise<Result<T>>, unlock: () => Promise<Result<void>>): Promise<Result<T>> {
    let r = await fn();
    for (let i = 1; i < LOCK_ATTEMPTS && !r.ok && r.error.kind === 'lock_failed'; i++) {
      if (i === 1) {
        const u = await unlock();
        this.d.log.info(u.ok ? 'a lock met; stale locks removed (restic unlock)' : 'a lock met; restic unlock failed', u.ok ? {} : { error: u.error.message });
      } else await new Promise((res) => setTimeout(res, LOCK_DELAY_MS));
      r = await fn();
    }
    return r;
  }

  private async key(f: Extract<RequestFrame, { type: 'repo.key.add' | 'repo.key.remove' }>): Promise<void> {
    const reply = (keyId: string | null, error: string | null): void => this.d.send({ type: 'repo.key.result', request_id: f.request_id, key_id: keyId, error });
    const s = this.d.secrets();
    if (!s) return reply(null, 'the agent has no repository credentials yet');
    if (f.type === 'repo.key.add') {
      this.d.log.addSecret(f.password);
      const r = await this.withOwn(s, `key-${f.request_id.slice(0, 16)}`, (conn, engine) =>
        this.lockRetry(() => engine.keyAdd(conn, { newPassword: f.password, user: 'restore', host: `job-${f.job_id.slice(0, 8)}` }, { timeoutMs: this.d.timeoutMs ?? 60_000 }), () => engine.unlock(conn)));
      this.d.log.info(r.ok ? 'added a temporary restore key' : 'cannot add a temporary restore key', { job_id: f.job_id, ...(r.ok ? { key_id: r.value.keyId.slice(0, 8) } : { error: r.error.message }) });
      return r.ok ? reply(r.value.keyId, null) : reply(null, r.error.message);
    }
    // An append-only repository refuses the delete: the server then sends its maintenance credential for this removal.
    const c = f.credential ?? s;
    this.d.log.addSecret(f.credential?.password);
    this.d.log.addSecret(f.credential?.rest_password);
    const remove = (conn: Connection, engine: Engine): Promise<Result<void>> => this.lockRetry(() => engine.keyRemove(conn, f.key_id, { timeoutMs: this.d.timeoutMs ?? 60_000 }), () => engine.unlock(conn));
    const r = f.credential ? await remove(this.conn(c), await this.d.engine()) : await this.withOwn(s, `key-${f.request_id.slice(0, 16)}`, remove);
    this.d.log.info(r.ok ? 'removed a temporary restore key' : 'cannot remove a temporary restore key', { job_id: f.job_id, key_id: f.key_id.slice(0, 8), ...(r.ok ? {} : { error: r.error.message }) });
    reply(r.ok ? f.key_id : null, r.ok ? null : r.error.message);
  }
}

/** Attempts of a key add/remove that met a lock (restic 0.14 takes an exclusive lock for `key remove`). */
const LOCK_ATTEMPTS = 8;
const LOCK_DELAY_MS = 1500;

function lsError(e: EngineError, snapshot: string): { error: string; error_kind: LsErrorKind } {
  if (/no matching ID found|invalid id/i.test(`${e.message}\n${e.stderrTail.join('\n')}`)) {
    return { error: `snapshot ${snapshot.slice(0, 8)} is not in the repository`, error_kind: 'unknown_snapshot' };
  }
  return { error: e.message, error_kind: 'failed' };
}
