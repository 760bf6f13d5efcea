import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RepositoryConfig, credentialSecrets } from '@restic-manager/protocol';
import type { CopyArgs } from '@restic-manager/protocol';
import type { Connection, CopySummary, Engine, EngineError, ProgressOptions } from '@restic-manager/engines';

/*
 * A `copy` job (issue 15): the job's repository is the source (the Connection the runner
 * built), `command.run.copy_target` the target. The target's password and keys go to restic
 * only through its environment (engines/restic/copy.ts); its CA bundle, when it has one, is a
 * 0600 file in a private directory removed when the job ends.
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
 * The target's Connection for the backends this file knows (local, REST, S3 with virtual-host
 * addressing); the job's cache directory and bandwidth limits apply to it too.
 */
function targetConnection(t: RepositoryConfig, source: Connection, caFile: string | undefined): Connection | string {
  const conn: Connection = {
    repository: t.url,
    password: t.password,
    ...(caFile ? { cacert: caFile } : {}),
    ...(source.cacheDir ? { cacheDir: source.cacheDir } : {}),
    ...(source.limitUploadKiBs ? { limitUploadKiBs: source.limitUploadKiBs } : {}),
    ...(source.limitDownloadKiBs ? { limitDownloadKiBs: source.limitDownloadKiBs } : {}),
  };
  const c = t.credentials;
  switch (c.backend) {
    case 'local':
      return conn;
    case 'rest':
      return { ...conn, ...(c.username ? { restUsername: c.username } : {}), ...(c.password ? { restPassword: c.password } : {}) };
    case 's3':
      if (c.path_style) return 'copying to an S3 repository with path-style addressing is not supported by this agent yet';
      return { ...conn, accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key, ...(c.session_token ? { sessionToken: c.session_token } : {}), ...(c.region ? { region: c.region } : {}) };
    default:
      return `copying to a ${c.backend} repository is not supported by this agent yet (local, rest and s3 are)`;
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
    let caFile: string | undefined;
    if (t.tls_ca_pem) {
      dir = await mkdtemp(path.join(os.tmpdir(), 'rm-copy-'));
      caFile = path.join(dir, 'ca.pem');
      await writeFile(caFile, t.tls_ca_pem, { mode: 0o600 });
    }
    const target = targetConnection(t, source, caFile);
    if (typeof target === 'string') return { ok: false, message: target };
    let initialised = false;
    if (args.init_target) {
      const i = await engine.initCopyTarget(target, source, opts);
      if (!i.ok && !EXISTS.test(i.error.stderrTail.join('\n'))) return { ok: false, error: i.error };
      initialised = i.ok;
    }
    const r = await engine.copy(target, { from: source, hosts: [os.hostname()], tags: args.tags }, opts);
    if (r.ok) return { ok: true, summary: r.value, initialised };
    if (r.error.kind === 'lock_failed' && !opts.signal?.aborted) await engine.unlock(target, {}, opts.signal ? { signal: opts.signal } : {});
    return { ok: false, error: r.error };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
