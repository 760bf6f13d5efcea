/**
 * Runs one vault_* job through @restic-manager/vault (docs/vault.md "Fleet"), inside the vault
 * job process (vault-process.ts), so the agent itself never loads the vault engine (decision
 * 0006). The target (storage, age recipient, S3 keys) arrives in `command.run.vault`, reaches
 * this process over the IPC channel and lives in memory for this job only; S3 keys go to the S3
 * client, never to argv, env or disk.
 * Never throws: every failure is an Outcome.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { VaultBackupArgs, VaultCheckArgs, VaultDrillArgs, VaultJobTarget, VaultPruneArgs, VaultSnapshotsArgs } from '@restic-manager/protocol';
import type { JobKind, VaultSnapshotInfo } from '@restic-manager/protocol';
import type { Progress } from '@restic-manager/engines';
import type { Storage } from '@restic-manager/vault';
import type * as VaultModule from '@restic-manager/vault';
import type { z } from 'zod';
import type { Outcome } from './outcome.js';
import { vaultPolicy, vaultProgress } from './vault-map.js';
import { runVaultDrill } from './vault-drill.js';

type Vault = typeof VaultModule;

export interface VaultRunContext {
  kind: JobKind;
  args: unknown;
  target: unknown;
  signal: AbortSignal;
  /** Directory of the local vault indexes (change detection cache; no secrets). */
  indexDir: string;
  /** vault_drill: the path of the age identity file (the key itself never crosses the IPC channel). */
  identityFile?: string | undefined;
  /** vault_drill: where the drill's private scratch directory is created (and always removed). */
  drillsDir?: string | undefined;
  line: (stream: 'stdout' | 'stderr' | 'event', text: string) => void;
  progress: (p: Progress) => void;
}

export interface VaultRunResult {
  outcome: Outcome;
  /** Committed snapshots after the job (sent as vault.snapshots.report), null when not listed. */
  snapshots: VaultSnapshotInfo[] | null;
}

const INDEX_PREFIX = 'index/';

const failed = (error: string, errorKind: Outcome['errorKind'] = 'failed'): Outcome => ({ status: 'failed', exitCode: null, stats: null, error, errorKind });
const cancelled = (error = 'cancelled; no snapshot was committed'): Outcome => ({ status: 'cancelled', exitCode: null, stats: null, error, errorKind: 'cancelled' });

function parse<T>(schema: z.ZodType<T>, v: unknown, what: string): T | string {
  const r = schema.safeParse(v ?? {});
  if (r.success) return r.data;
  const i = r.error.issues[0];
  return `invalid ${what}: ${i && i.path.length ? i.path.join('.') + ': ' : ''}${i?.message ?? 'invalid'}`;
}

/** Where the storage is, for log lines (never a key). */
export function describeTarget(t: VaultJobTarget): string {
  return t.storage.type === 'local' ? t.storage.path : `s3://${t.storage.bucket}/${t.storage.prefix}${t.storage.endpoint ? ` at ${t.storage.endpoint}` : ''}`;
}

async function openStorage(v: Vault, t: VaultJobTarget, create: boolean): Promise<Storage> {
  const s = t.storage;
  if (s.type === 'local') {
    // The first backup creates the directory (like restic init); other kinds need it to exist.
    if (create) await mkdir(s.path, { recursive: true, mode: 0o700 });
    return new v.LocalStorage(s.path);
  }
  return v.openS3Storage({
    bucket: s.bucket, prefix: s.prefix, region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint, forcePathStyle: true } : {}),
    ...(s.access_key_id ? { accessKeyId: s.access_key_id } : {}),
    ...(s.secret_access_key ? { secretAccessKey: s.secret_access_key } : {}),
    ...(process.env.RM_AGENT_VAULT_CA_CERT ? { caCertPath: process.env.RM_AGENT_VAULT_CA_CERT } : {}),
  });
}

async function committed(v: Vault, storage: Storage): Promise<VaultSnapshotInfo[]> {
  const list = await v.listSnapshots(storage, INDEX_PREFIX);
  return list.filter((s) => s.committed).map((s) => ({ id: s.id, time: s.time.toISOString(), metadata_bytes: s.metaSize }));
}

export async function runVaultJob(ctx: VaultRunContext): Promise<VaultRunResult> {
  const target = parse(VaultJobTarget, ctx.target, 'vault target');
  if (typeof target === 'string') return { outcome: failed(ctx.target === undefined ? 'the server sent no vault target with this vault job' : target), snapshots: null };
  let v: Vault;
  try {
    v = await import('@restic-manager/vault');
  } catch (err) {
    return { outcome: failed(`the vault engine cannot be loaded: ${(err as Error).message}`, 'not_installed'), snapshots: null };
  }
  try {
    const storage = await openStorage(v, target, ctx.kind === 'vault_backup');
    ctx.line('event', `vault ${ctx.kind.slice(6)}: ${describeTarget(target)} (recipient ${target.age_recipient})`);
    const outcome = await runKind(v, ctx, target, storage);
    // A drill reads another host's vault: its snapshot list is not this host's to report.
    const list = ctx.kind === 'vault_drill' || (outcome.status === 'failed' && outcome.errorKind !== 'partial') ? null : await committed(v, storage).catch(() => null);
    return { outcome, snapshots: list };
  } catch (err) {
    if (ctx.signal.aborted || err instanceof v.BackupAbortedError) return { outcome: cancelled(), snapshots: null };
    return { outcome: failed((err as Error).message), snapshots: null };
  }
}

async function runKind(v: Vault, ctx: VaultRunContext, target: VaultJobTarget, storage: Storage): Promise<Outcome> {
  switch (ctx.kind) {
    case 'vault_backup': {
      const a = parse(VaultBackupArgs, ctx.args, 'vault_backup arguments');
      if (typeof a === 'string') return failed(a);
      // One local index per storage location + recipient (vault's change-detection cache).
      const key = createHash('sha256').update(`${describeTarget(target)}|${target.age_recipient}`).digest('hex').slice(0, 16);
      const cfg = v.parseConfig({
        source_dirs: a.paths, exclude: a.excludes, age_recipient: target.age_recipient,
        local_dir: target.storage.type === 'local' ? target.storage.path : undefined,
        s3: target.storage.type === 's3' ? { bucket: target.storage.bucket, prefix: target.storage.prefix, region: target.storage.region } : undefined,
        index_path: path.join(ctx.indexDir, `${key}.sqlite`),
        ...(target.chunk_size ? { chunk_size: target.chunk_size } : {}),
        ...(target.blob_size_limit ? { blob_size_limit: target.blob_size_limit } : {}),
      });
      ctx.line('event', `backing up ${a.paths.join(', ')}`);
      let phase = '';
      const r = await v.backup(cfg, {
        storage, signal: ctx.signal,
        onProgress: (p) => {
          if (p.phase !== phase) ctx.line('event', `phase: ${(phase = p.phase)}`);
          ctx.progress(vaultProgress(p));
        },
      });
      for (const e of r.errors.slice(0, 100)) ctx.line('stderr', `cannot read ${e.path}: ${e.error}`);
      ctx.line('event', `snapshot ${r.snapshotId} committed: ${r.files} files, ${v.formatBytes(r.bytes)}; ${r.filesRead} files read, ${r.chunksNew} new chunks, ${v.formatBytes(r.bytesUploaded)} uploaded`);
      const stats = {
        snapshot_id: r.snapshotId, files: r.files, dirs: r.dirs, bytes: r.bytes, files_read: r.filesRead, bytes_read: r.bytesRead,
        chunks_new: r.chunksNew, blobs_uploaded: r.blobsUploaded, bytes_uploaded: r.bytesUploaded, error_count: r.errors.length, elapsed_ms: r.elapsedMs,
      };
      if (r.errors.length > 0) return { status: 'succeeded', exitCode: 3, stats, error: `snapshot made, but ${r.errors.length} file(s) could not be read`, errorKind: 'partial' };
      return { status: 'succeeded', exitCode: 0, stats, error: null, errorKind: null };
    }
    case 'vault_prune': {
      const a = parse(VaultPruneArgs, ctx.args, 'vault_prune arguments');
      if (typeof a === 'string') return failed(a);
      const policy = a.policy ? vaultPolicy(a.policy) : undefined;
      if (typeof policy === 'string') return failed(policy);
      try {
        const r = await v.prune({ storage, indexPrefix: INDEX_PREFIX, ...(policy ? { policy } : {}), log: (m) => ctx.line('stdout', m) });
        const stats = { snapshots_kept: r.snapshotsKept.length, snapshots_removed: r.snapshotsRemoved.length, blobs_deleted: r.blobsDeleted, bytes_deleted: r.bytesDeleted, blobs_in_grace: r.blobsInGrace, blobs_kept: r.blobsKept };
        ctx.line('event', `pruned: ${r.snapshotsRemoved.length} snapshot(s) removed, ${r.blobsDeleted} blob(s) deleted (${v.formatBytes(r.bytesDeleted)})`);
        return { status: 'succeeded', exitCode: 0, stats, error: null, errorKind: null };
      } catch (err) {
        if (err instanceof v.PruneRefusedError) return { ...failed(err.message, 'lock_failed'), exitCode: 4 };
        throw err;
      }
    }
    case 'vault_check': {
      const a = parse(VaultCheckArgs, ctx.args, 'vault_check arguments');
      if (typeof a === 'string') return failed(a);
      ctx.line('event', a.read_data
        ? 'checking without the private key: reference lists, metadata hashes, every referenced blob exists and hashes to its name'
        : 'checking without the private key: reference lists, metadata hashes and that every referenced blob exists (add read_data to verify blob hashes)');
      const r = await v.check({ storage, indexPrefix: INDEX_PREFIX, readData: a.read_data, onProgress: (m) => ctx.line('stdout', m) });
      for (const p of r.problems.slice(0, 100)) ctx.line('stderr', `${p.kind}: ${p.object}: ${p.message}`);
      const stats = { snapshots: r.snapshots, blobs_checked: r.blobsChecked, problems: r.problems.slice(0, 100).map((p) => ({ kind: p.kind, object: p.object, message: p.message })) };
      if (r.problems.length > 0) return { status: 'failed', exitCode: 3, stats, error: `check found ${r.problems.length} problem(s): ${r.problems[0]!.message}`, errorKind: 'failed' };
      return { status: 'succeeded', exitCode: 0, stats, error: null, errorKind: null };
    }
    case 'vault_snapshots': {
      const a = parse(VaultSnapshotsArgs, ctx.args, 'vault_snapshots arguments');
      if (typeof a === 'string') return failed(a);
      const n = (await committed(v, storage)).length;
      return { status: 'succeeded', exitCode: 0, stats: { count: n }, error: null, errorKind: null };
    }
    case 'vault_drill': {
      const a = parse(VaultDrillArgs, ctx.args, 'vault_drill arguments');
      if (typeof a === 'string') return failed(a);
      return runVaultDrill(v, storage, target, a, { identityFile: ctx.identityFile, scratchParent: ctx.drillsDir ?? path.join(path.dirname(ctx.indexDir), 'drills'), line: ctx.line });
    }
    default:
      return failed(`job kind '${ctx.kind}' is not a vault job`);
  }
}
