import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RepositoryConfig, credentialSecrets } from '@restic-manager/protocol';
import type { CopyArgs } from '@restic-manager/protocol';
import { BackendConfigError, materialise } from '@restic-manager/engines';
import type { Connection, CopySummary, Engine, EngineError, ProgressOptions } from '@restic-manager/engines';

/*
 * A `copy` job (issue 15): the job's repository is the source (the Connection the runner
 * built from command.run.repository or the primary), `command.run.copy_target` the target. The
 * target's password and keys go to restic only through its environment (engines/restic/copy.ts);
 * its credential files (CA bundle, key files) are 0600 in a private directory removed when the job ends.
 */

export type CopyRunResult =
  | { ok: true; summary: CopySummary; initialised: boolean }
  | { ok: false; error: EngineError }
  | { ok: false; error?: undefined; message: string };

/** The secrets of a `command.run.copy_target` as received (unvalidated), for the job log's redaction. */
export function copyTargetSecrets(target: unknown): string[] {
  const r = RepositoryConfig.safeParse(target);
  if (r.success) return credentialSecrets(r.data.credentials, r.data.password);
  const pw = (target as { password?: unknown } | undefined)?.password;
  return typeof pw === 'string' ? [pw] : [];
}

/** Validates copy_target against the job's arguments; a message naming the field on failure. */
function parseTarget(target: unknown, args: CopyArgs): RepositoryConfig | string {
  if (target === undefined) return 'a copy job needs command.run.copy_target (the target repository); the server sent none';
  const r = RepositoryConfig.safeParse(target);
  if (!r.success) {
    const i = r.error.issues[0];
    return `invalid copy_target: ${i && i.path.length ? i.path.join('.') + ': ' : ''}${i?.message ?? 'invalid'}`;
  }
  if (r.data.id !== args.target_repository_id) return `copy_target.id '${r.data.id}' is not the job's target_repository_id '${args.target_repository_id}'`;
  return r.data;
}

/**
 * The target's Connection: the same backend materialiser as the job's own repository (every
 * backend; credential files 0600 in `dir`, a private 0700 directory removed when the job ends);
 * the job's cache directory and bandwidth limits apply to it too.
 */
async function targetConnection(t: RepositoryConfig, source: Connection, dir: string): Promise<Connection | string> {
  try {
    const conn = await materialise(t, dir);
    return {
      ...conn,
      ...(source.cacheDir ? { cacheDir: source.cacheDir } : {}),
      ...(source.limitUploadKiBs ? { limitUploadKiBs: source.limitUploadKiBs } : {}),
      ...(source.limitDownloadKiBs ? { limitDownloadKiBs: source.limitDownloadKiBs } : {}),
    };
  } catch (err) {
    if (err instanceof BackendConfigError) return `invalid copy_target: ${err.message}`;
    throw err;
  }
}

/** restic 0.14's answer to `init` on a repository that exists. */
const EXISTS = /config file already exists/i;

/**
 * Copies this host's snapshots (optionally only those with `args.tags`) from `source` into the
 * copy target; with `args.init_target`, first initialises the target with the source's chunker
 * parameters unless it already exists. A held lock on the target is cleared when restic
 * considers it stale, so the runner's one retry can succeed.
 */
export async function runCopy(engine: Engine, source: Connection, args: CopyArgs, copyTarget: unknown, opts: ProgressOptions): Promise<CopyRunResult> {
  const t = parseTarget(copyTarget, args);
  if (typeof t === 'string') return { ok: false, message: t };
  let dir: string | undefined;
  try {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rm-copy-'));
    const target = await targetConnection(t, source, dir);
    if (typeof target === 'string') return { ok: false, message: target };
    let initialised = false;
    if (args.init_target) {
      const i = await engine.initCopyTarget(target, source, opts);
      if (!i.ok && !EXISTS.test(i.error.stderrTail.join('\n'))) return { ok: false, error: i.error };
      initialised = i.ok;
    }
    const r = await engine.copy(target, { from: source, hosts: [os.hostname()], tags: args.tags, ...(args.source_snapshots !== undefined ? { expectedSnapshots: args.source_snapshots } : {}) }, opts);
    if (r.ok) return { ok: true, summary: r.value, initialised };
    if (r.error.kind === 'lock_failed' && !opts.signal?.aborted) await engine.unlock(target, {}, opts.signal ? { signal: opts.signal } : {});
    return { ok: false, error: r.error };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
