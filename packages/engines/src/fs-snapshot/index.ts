import { randomBytes } from 'node:crypto';
import { createBtrfs, createLvm, createZfs, type CreatedSnapshot, type ProviderOptions } from './providers.js';
import { systemRunner, type CommandRunner } from './runner.js';

export type FsSnapshotKind = 'btrfs' | 'zfs' | 'lvm';

export interface SnapshotHandle {
  kind: FsSnapshotKind;
  /** Read this path instead of the source: the source's content, frozen at snapshot time. */
  path: string;
  /** Snapshot identifier (btrfs subvolume path, zfs dataset@name, lvm vg/lv). */
  id: string;
  /** Aborted together with the caller's signal; pass it to the backup. */
  signal: AbortSignal;
}

export interface WithSnapshotOptions {
  runner?: CommandRunner;
  signal?: AbortSignal;
  /** Snapshot name; default `restic-manager-<time>-<random>`. */
  name?: string;
  snapshotDir?: string;
  lvmSize?: string;
  mountDir?: string;
  /** After an abort, how long to wait for `fn` to settle before releasing anyway, ms (default 30000). */
  abortGraceMs?: number;
}

/** Thrown when the snapshot could not be released; `snapshotId` tells the operator what to remove by hand. */
export class SnapshotReleaseError extends Error {
  constructor(
    readonly snapshotId: string,
    readonly releaseError: Error,
    cause?: unknown,
  ) {
    super(`could not release snapshot ${snapshotId}: ${releaseError.message}`, cause === undefined ? undefined : { cause });
    this.name = 'SnapshotReleaseError';
  }
}

const CREATE: Record<FsSnapshotKind, (source: string, o: ProviderOptions) => Promise<CreatedSnapshot>> = {
  btrfs: createBtrfs,
  zfs: createZfs,
  lvm: createLvm,
};

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError');
}

/**
 * Crash-consistent capture (assay.fs_snapshot): snapshot `sourcePath`, run `fn` on the frozen
 * view, and ALWAYS release the snapshot — when `fn` resolves, when it throws, and when the signal
 * aborts (then `fn` gets `abortGraceMs` to settle, e.g. a backup reacting to the same signal, and
 * the snapshot is released either way). If creation fails nothing is left behind. A failed
 * release throws SnapshotReleaseError (carrying `fn`'s error as `cause` when both failed).
 */
export async function withSnapshot<T>(kind: FsSnapshotKind, sourcePath: string, fn: (h: SnapshotHandle) => Promise<T>, opts: WithSnapshotOptions = {}): Promise<T> {
  const signal = opts.signal ?? new AbortController().signal;
  if (signal.aborted) throw abortError(signal);
  const create = CREATE[kind];
  if (!create) throw new Error(`withSnapshot: unknown kind '${String(kind)}'`);
  const name = opts.name ?? `restic-manager-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  const snap = await create(sourcePath, {
    runner: opts.runner ?? systemRunner,
    name,
    ...(opts.snapshotDir ? { snapshotDir: opts.snapshotDir } : {}),
    ...(opts.lvmSize ? { lvmSize: opts.lvmSize } : {}),
    ...(opts.mountDir ? { mountDir: opts.mountDir } : {}),
  });

  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    if (signal.aborted) throw abortError(signal);
    const run = fn({ kind, path: snap.path, id: snap.id, signal });
    outcome = { ok: true, value: await settleOrAbort(run, signal, opts.abortGraceMs ?? 30_000) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  try {
    await snap.release();
  } catch (e) {
    throw new SnapshotReleaseError(snap.id, e instanceof Error ? e : new Error(String(e)), outcome.ok ? undefined : outcome.error);
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** Resolves with `run`, or — once the signal aborts — waits up to `graceMs` for it and then rejects. */
function settleOrAbort<T>(run: Promise<T>, signal: AbortSignal, graceMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      timer = setTimeout(() => reject(abortError(signal)), graceMs);
      run.then(() => reject(abortError(signal)), reject);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    run.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        clearTimeout(timer);
        if (signal.aborted) reject(abortError(signal));
        else resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export type { CommandRunner, CommandResult } from './runner.js';
export { systemRunner } from './runner.js';
