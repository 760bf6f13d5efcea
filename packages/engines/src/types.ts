import type { Readable, Writable } from 'node:stream';

/**
 * The engine contract: one interface, implemented by `restic` and `rustic` (and later `vault`).
 * Every call resolves to a Result and never rejects for a failed command (assay.rustic's
 * contract). Credentials reach the child process only through its environment.
 */

export type Result<T, E = EngineError> = { ok: true; value: T } | { ok: false; error: E };

export type EngineErrorKind =
  | 'partial' // exit 3: the snapshot was made but some source files were unreadable (a warning)
  | 'no_repository' // exit 10 (or detected from the message on restic 0.14)
  | 'lock_failed' // exit 11 (or detected): another process holds an exclusive lock
  | 'wrong_password' // exit 12 (or detected)
  | 'interrupted' // exit 130 / cancelled through the AbortSignal
  | 'timeout' // the per-call timeout elapsed; the child was stopped
  | 'not_installed' // the binary could not be started
  | 'invalid_argument' // the request was rejected before anything ran
  | 'unsupported' // this engine cannot do this at all (e.g. rustic `copy`)
  | 'failed'; // anything else

export interface EngineError {
  kind: EngineErrorKind;
  /** The engine sub-command, e.g. `backup`. */
  command: string;
  exitCode: number | null;
  /** One line a person can act on: the last meaningful stderr line, secrets redacted. */
  message: string;
  /** Last stderr lines (capped), secrets redacted. */
  stderrTail: string[];
  /** For `partial` backups: the summary of the snapshot that was made. */
  summary?: BackupSummary;
  /** For `lock_failed`: who holds the lock, when restic says so. */
  lockHolder?: string;
  /** Non-JSON stdout lines of a JSON command (capped, redacted), when there were any. */
  diagnostics?: string[];
  /** For `restore`: the files that could not be restored (capped at 1000) and how many there were. */
  failedFiles?: FailedFile[];
  failedFileCount?: number;
}

/** A file a restore could not write correctly, by its path in the snapshot, and why. */
export interface FailedFile {
  path: string;
  reason: string;
}

/** Connection parameters (assay.rustic's opts table). Secrets are only ever put into the child's env. */
export interface Connection {
  /** Repository URL or path: `/srv/repo`, `rest:http://host:8000/user/`, `s3:https://host/bucket/prefix`. */
  repository: string;
  password?: string;
  passwordFile?: string;
  passwordCommand?: string;
  /** REST server credentials, merged into the URL only inside the child's environment. */
  restUsername?: string;
  restPassword?: string;
  /** S3 */
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** PEM file with extra CA certificates (restic `--cacert`). */
  cacert?: string;
  /** KiB/s */
  limitUploadKiBs?: number;
  limitDownloadKiBs?: number;
  /** Default timeout for each call, ms. */
  timeoutMs?: number;
  /** Engine binary; defaults to `restic` / `rustic` on PATH. */
  binary?: string;
  cacheDir?: string;
  noCache?: boolean;
  /** Extra environment for the child (e.g. RESTIC_PACK_SIZE, B2_ACCOUNT_KEY). Never logged. */
  env?: Record<string, string>;
  /**
   * Backend options, restic `-o key=value` each (e.g. `s3.bucket-lookup=path`). They travel in
   * argv, so they must never hold a secret (file paths only). Ignored by rustic.
   */
  options?: string[];
  /** Further secret values (backend keys, rclone options) scrubbed from every line handed out. */
  secrets?: string[];
  /**
   * Log files a backend helper writes (ssh `-E`): when a command fails, their last lines join
   * its stderrTail (redacted) before the error is classified. restic 0.14 relays ssh's stderr
   * from a goroutine and may exit before it printed ssh's reason; the file always has it.
   */
  helperLogs?: string[];
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Grace period between SIGINT and SIGKILL on abort/timeout, ms (default 5000). */
  killGraceMs?: number;
  /** Receives every output line (stdout and stderr), secrets redacted. */
  onLine?: (line: OutputLine) => void;
}

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  line: string;
  ts: Date;
}

export interface ProgressOptions extends CallOptions {
  onProgress?: (p: Progress) => void;
  /** Minimum interval between onProgress calls, ms (default 500). The final event is always delivered. */
  progressIntervalMs?: number;
}

/** Normalised progress for backup and restore. Null where the engine cannot know yet. */
export interface Progress {
  /** 0..1 */
  percentDone: number;
  filesDone: number;
  totalFiles: number | null;
  bytesDone: number;
  totalBytes: number | null;
  etaSeconds: number | null;
  throughputBps: number | null;
  elapsedSeconds: number;
  currentFiles: string[];
  errorCount: number;
}

export interface BackupRequest {
  paths: string[];
  excludes?: string[];
  excludeFiles?: string[];
  tags?: string[];
  host?: string;
  parent?: string;
  oneFileSystem?: boolean;
  /** Back up a stream instead of paths (restic `--stdin --stdin-filename`). `paths` must be empty. */
  stdin?: { stream: Readable; filename: string };
}

export interface BackupSummary {
  snapshotId: string;
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  dirsNew: number;
  dirsChanged: number;
  dirsUnmodified: number;
  dataBlobs: number;
  treeBlobs: number;
  dataAdded: number;
  totalFilesProcessed: number;
  totalBytesProcessed: number;
  durationSeconds: number;
  /** Per-file errors reported during the backup (capped). */
  errors: string[];
}

export interface Snapshot {
  id: string;
  shortId: string;
  time: string;
  hostname: string;
  username?: string;
  paths: string[];
  tags: string[];
  parent?: string;
  tree?: string;
}

export interface SnapshotFilter {
  host?: string;
  tags?: string[];
  paths?: string[];
}

export interface LsEntry {
  name: string;
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'dev' | 'chardev' | 'fifo' | 'socket' | 'other';
  size?: number;
  mode?: number;
  mtime?: string;
  uid?: number;
  gid?: number;
}

export interface LsRequest {
  snapshot: string;
  /** Directory inside the snapshot to list (its direct children, or everything below with `recursive`). */
  path?: string;
  /**
   * With `snapshot: 'latest'`: the latest snapshot of this host only (restic `--host`). restic
   * only; no matching snapshot = no entries, no `onSnapshot`, and ok.
   */
  host?: string;
  /**
   * Called once, before the first entry, with the snapshot being listed (restic prints it first),
   * so one `ls latest` both picks and lists a snapshot. restic only (rustic never calls it).
   */
  onSnapshot?: (s: Snapshot) => void;
  /** restic `--recursive`: every entry below `path`, not only its direct children. */
  recursive?: boolean;
  /** restic `--no-lock`: read without creating a lock (a read-only look that must not wait for or delay others). */
  noLock?: boolean;
}

/** A page of `ls`, produced from a stream so memory stays bounded. */
export interface LsPage {
  entries: LsEntry[];
  /** Offset of the next page, or null when this was the last one. */
  nextOffset: number | null;
}

export interface RepoStatsResult {
  totalSize: number;
  totalFileCount: number;
  /** raw-data mode: bytes actually stored (after dedup, before/after compression by engine). */
  rawSize?: number;
  /** raw-data mode on repository format 2 (restic >= 0.14): bytes before compression. */
  uncompressedSize?: number;
  /** raw-data mode: number of blobs. */
  blobCount?: number;
  snapshotsCount?: number;
}

export interface DiffResult {
  changes: { path: string; modifier: string }[];
  stats: Record<string, unknown>;
}

/** One line of a streamed diff: a changed path, or (last) restic's statistics of the whole diff. */
export type DiffItem =
  | { kind: 'change'; path: string; modifier: string }
  | { kind: 'statistics'; changedFiles: number; added: DiffSideStats; removed: DiffSideStats };

/** restic's `added` / `removed` statistics (bytes of data blobs). */
export interface DiffSideStats {
  files: number;
  dirs: number;
  others: number;
  bytes: number;
}

export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  keepWithin?: string;
  keepTags?: string[];
}

export interface ForgetRequest {
  policy: RetentionPolicy;
  filter?: SnapshotFilter;
  /** Group snapshots like restic's `--group-by` (default `host,paths`). */
  groupBy?: string;
  prune?: boolean;
  dryRun?: boolean;
  /** With dryRun only: take no lock (restic `--no-lock`), so a preview neither waits for nor blocks a backup. */
  noLock?: boolean;
}

export interface ForgetResult {
  keep: Snapshot[];
  remove: Snapshot[];
  /** Why each kept snapshot is kept, by snapshot id, in the engine's words ("daily snapshot"); absent when the engine does not say. */
  reasons?: Record<string, string[]>;
}

export interface CheckRequest {
  /** restic `--read-data-subset`: `n/t`, `x%` or a size. */
  readDataSubset?: string;
  readData?: boolean;
}

export interface CheckResult {
  /** Problems found (empty when the repository is healthy). */
  errors: string[];
}

export interface RestoreRequest {
  snapshot: string;
  target: string;
  include?: string[];
  exclude?: string[];
  verify?: boolean;
}

export interface RestoreSummary {
  filesRestored: number | null;
  bytesRestored: number;
  durationSeconds: number;
}

export interface DumpRequest {
  snapshot: string;
  /** Absolute path of one file or folder inside the snapshot. */
  path: string;
  /** A folder's archive format (restic `--archive`, default tar); a file is always written as its bytes. */
  archive?: 'tar' | 'zip';
  /**
   * Receives the file's bytes (or the folder's archive) with back-pressure. Never ended by the engine: the caller ends it
   * only when the call resolved ok, so a consumer never mistakes a cut-off stream for a whole file.
   */
  stdout: Writable;
}

export interface KeyAddRequest {
  /** Password of the new key; passed through a private temp file, never argv. */
  newPassword: string;
  user?: string;
  host?: string;
}

/**
 * `copy`: snapshots of `from` that the target lacks are copied into the target (restic
 * `copy --from-repo`). The source's location and password reach the child only through its
 * environment (RESTIC_FROM_REPOSITORY / RESTIC_FROM_PASSWORD*), never argv.
 */
export interface CopyRequest {
  /** The source repository (the call's `conn` is the target). */
  from: Connection;
  /** Only snapshots of these hosts (none: every host). */
  hosts?: string[];
  /** Only snapshots having all of these tags (none: any). */
  tags?: string[];
  /**
   * How many source snapshots the copy will consider, when the caller already knows (the
   * server's snapshot list): used for the percentage, and no second restic process counts them.
   */
  expectedSnapshots?: number;
}

export interface CopySummary {
  /** Snapshots written to the target by this call. */
  copied: number;
  /** Snapshots the target already held (copied before). */
  skipped: number;
  /** Source -> new target snapshot id (short ids as restic prints them), capped at 1000. */
  snapshots: { source: string; target: string }[];
  durationSeconds: number;
}

export interface Engine {
  readonly name: 'restic' | 'rustic';
  version(conn?: Partial<Connection>, opts?: CallOptions): Promise<Result<{ version: string; raw: string }>>;
  init(conn: Connection, opts?: CallOptions): Promise<Result<{ id?: string }>>;
  backup(conn: Connection, req: BackupRequest, opts?: ProgressOptions): Promise<Result<BackupSummary>>;
  snapshots(conn: Connection, filter?: SnapshotFilter, opts?: CallOptions): Promise<Result<Snapshot[]>>;
  /** Streams `ls` entries; the iterable ends early and `result` carries the error on failure. */
  ls(conn: Connection, req: LsRequest, opts?: CallOptions): { entries: AsyncIterable<LsEntry>; result: Promise<Result<{ count: number }>> };
  /** One page of `ls`, read from the stream; stops the child once the page is full. */
  lsPage(conn: Connection, req: LsRequest & { offset: number; limit: number }, opts?: CallOptions): Promise<Result<LsPage>>;
  stats(conn: Connection, req?: { mode?: 'restore-size' | 'raw-data' | 'files-by-contents' | 'blobs-per-file'; snapshot?: string; /** several snapshots (their figures summed); with `snapshot` both count */ snapshots?: readonly string[] }, opts?: CallOptions): Promise<Result<RepoStatsResult>>;
  diff(conn: Connection, a: string, b: string, opts?: CallOptions): Promise<Result<DiffResult>>;
  /**
   * Streams `diff` with back-pressure, for diffs of any size: change lines in restic's order, then
   * one `statistics` item. Leaving the loop early stops the child. restic only.
   */
  diffStream?(conn: Connection, a: string, b: string, opts?: CallOptions): { items: AsyncIterable<DiffItem>; result: Promise<Result<{ count: number }>> };
  forget(conn: Connection, req: ForgetRequest, opts?: CallOptions): Promise<Result<ForgetResult>>;
  prune(conn: Connection, opts?: CallOptions): Promise<Result<{ output: string[] }>>;
  check(conn: Connection, req?: CheckRequest, opts?: CallOptions): Promise<Result<CheckResult>>;
  /** Removes stale locks only (restic's rules) unless `removeAll`. A no-op for rustic (lock-free). */
  unlock(conn: Connection, req?: { removeAll?: boolean }, opts?: CallOptions): Promise<Result<void>>;
  restore(conn: Connection, req: RestoreRequest, opts?: ProgressOptions): Promise<Result<RestoreSummary>>;
  /**
   * A failed restore names the files it could not restore (`EngineError.failedFiles`: restic),
   * so they can be removed from the target. false (rustic, which stops at the first damaged blob,
   * or panics, leaving created files empty or half written without naming them): the agent
   * restores into a staging directory and moves the result into place only after a success.
   */
  readonly restoreNamesFailedFiles: boolean;
  /**
   * Copies the source's snapshots (filtered by host and tags) that the target `conn` does not
   * hold yet. Refused (`invalid_argument`) when source and target are the same location, or
   * when both need different values of one environment variable (restic 0.14 gives both
   * repositories one set of cloud keys). Progress: `filesDone`/`totalFiles` count snapshots,
   * `bytesDone` is what the engine process wrote so far. `unsupported` on rustic.
   */
  copy(conn: Connection, req: CopyRequest, opts?: ProgressOptions): Promise<Result<CopySummary>>;
  /**
   * Initialises `conn` as a copy target of `from` with the source's chunker parameters
   * (restic `init --copy-chunker-params`), so deduplication survives copying. `unsupported` on rustic.
   */
  initCopyTarget(conn: Connection, from: Connection, opts?: CallOptions): Promise<Result<{ id?: string }>>;
  keyAdd(conn: Connection, req: KeyAddRequest, opts?: CallOptions): Promise<Result<{ keyId: string }>>;
  keyRemove(conn: Connection, keyId: string, opts?: CallOptions): Promise<Result<void>>;
  /** Streams one file of a snapshot (`restic dump`). restic only; resolves once the engine exited. */
  dump?(conn: Connection, req: DumpRequest, opts?: CallOptions): Promise<Result<void>>;
  /**
   * Lists the repository's locks with their holder and creation time, without taking a lock
   * (for the Repo tab's stale-lock view). A lock removed while it is being read is left out.
   * Fails only when the lock list itself cannot be read. restic only: rustic is lock-free.
   */
  locks?(conn: Connection, opts?: CallOptions): Promise<Result<RepoLock[]>>;
  /**
   * The repository's key ids and config id, without taking a lock (`restic list keys`,
   * `restic cat config`): the server compares them between jobs and notices a key it did not
   * add (issue 16). Fails when either cannot be read. restic only so far.
   */
  identity?(conn: Connection, opts?: CallOptions): Promise<Result<RepoIdentity>>;
}

/** What identifies a repository's access: its key ids (64 hex) and its config id. */
export interface RepoIdentity {
  keyIds: string[];
  configId: string;
}

/** One lock file of a repository (`restic list locks` + `restic cat lock <id>`). */
export interface RepoLock {
  /** The lock file's id (64 hex). */
  id: string;
  /** When the lock was created or last refreshed (restic refreshes a live lock every 5 minutes), RFC 3339. */
  time: string;
  /** Holder: host name, user name (empty when restic did not record one) and process id. */
  host: string;
  username: string;
  pid: number;
  exclusive: boolean;
  /**
   * restic's own rule (0.14 `Lock.Stale`): older than 30 minutes, or created on this host by a
   * process that no longer exists. Judged when listed, on the host that listed it.
   */
  stale: boolean;
}
