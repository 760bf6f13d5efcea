/**
 * A vault drill (issue 16, docs/recoverability.md "Vault drills"), run inside the vault job
 * process on a host trusted for vault drills: reads the age identity from its file (mode 0600,
 * owned by the agent's user), checks it matches the target's recipient, decrypts the snapshot's
 * metadata, samples files reproducibly (drill-sample.ts), restores them into a private scratch
 * directory (always removed), then re-reads every restored byte and checks it chunk by chunk
 * against the SHA-256 content hashes the snapshot itself records. Never throws.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import path from 'node:path';
import type { RestoreDrillStats, VaultDrillArgs, VaultJobTarget } from '@restic-manager/protocol';
import type { Entry, SnapshotMeta, Storage } from '@restic-manager/vault';
import type * as VaultModule from '@restic-manager/vault';
import { DrillSampler } from './drill-sample.js';
import type { Outcome } from './outcome.js';
import { readIdentityFile } from './vault-identity.js';

const INDEX_PREFIX = 'index/';
const failed = (error: string, stats: Record<string, unknown> | null = null): Outcome => ({ status: 'failed', exitCode: null, stats, error, errorKind: 'failed' });

/** Why a restored file differs from the snapshot's content hashes, or null when every byte matches. */
export async function verifyFile(file: string | Buffer, e: Entry, meta: SnapshotMeta, buf: Buffer): Promise<string | null> {
  const fh = await open(file, 'r').catch(() => null);
  if (!fh) return 'it was not restored';
  try {
    const st = await fh.stat();
    if (st.size !== (e.s ?? 0)) return `it was restored with ${st.size} bytes, the snapshot holds ${e.s ?? 0}`;
    let pos = 0;
    for (const [n, ci] of (e.c ?? []).entries()) {
      const c = meta.chunks[ci];
      if (!c) return `the snapshot references an unknown chunk ${ci}`;
      const len = c[4];
      const data = len <= buf.length ? buf.subarray(0, len) : Buffer.allocUnsafe(len);
      const { bytesRead } = await fh.read(data, 0, len, pos);
      if (bytesRead !== len || createHash('sha256').update(data).digest('hex') !== c[0]) return `chunk ${n + 1} (bytes ${pos}–${pos + len}) does not match the snapshot's content hash ${c[0].slice(0, 16)}`;
      pos += len;
    }
    if (pos !== (e.s ?? 0)) return `its chunks hold ${pos} bytes, the snapshot records ${e.s ?? 0}`;
    return null;
  } finally {
    await fh.close();
  }
}

export async function runVaultDrill(v: typeof VaultModule, storage: Storage, target: VaultJobTarget, a: VaultDrillArgs, o: {
  identityFile: string | undefined; scratchParent: string; line: (stream: 'stdout' | 'stderr' | 'event', text: string) => void;
}): Promise<Outcome> {
  const started = Date.now();
  if (!o.identityFile) return failed('this host holds no vault identity: set vault_identity_file in agent.yaml (or RM_VAULT_IDENTITY_FILE) to a 0600 file holding the AGE-SECRET-KEY-1… line');
  const id = await readIdentityFile(o.identityFile);
  if (!id.ok) return failed(id.error);
  let identity: VaultModule.X25519Identity;
  try {
    identity = v.X25519Identity.parse(id.key);
  } catch {
    return failed(`vault identity file ${o.identityFile} does not hold a valid age identity (expected AGE-SECRET-KEY-1…)`);
  }
  if (identity.recipient.toString() !== target.age_recipient) {
    return failed(`the vault identity of this host (recipient ${identity.recipient.toString()}) does not match the vault target's recipient ${target.age_recipient}`);
  }
  let meta: SnapshotMeta;
  try {
    meta = await v.loadSnapshot(storage, identity, INDEX_PREFIX, a.snapshot_id);
  } catch (e) {
    return failed(`could not read vault snapshot ${a.snapshot_id}: ${(e as Error).message}`);
  }
  const sampler = new DrillSampler({ count: a.sample_files, bytes: a.sample_bytes, seed: a.seed, roots: meta.sources });
  const byPath = new Map<string, Entry>();
  for (const e of meta.entries) {
    if (e.t !== 'f') continue;
    byPath.set(e.p, e);
    sampler.add({ path: e.p, size: e.s ?? 0 });
  }
  const sample = sampler.result();
  const listSeconds = (Date.now() - started) / 1000;
  const base = { snapshot_id: meta.id, snapshot_time: meta.time, snapshot_files: sample.seenFiles, snapshot_bytes: sample.seenBytes, seed: a.seed };
  if (sample.files.length === 0) return failed(`vault snapshot ${a.snapshot_id} holds no regular file to drill`, base);
  const bytes = sample.files.reduce((n, f) => n + f.size, 0);
  o.line('stdout', `restic-manager: drilling vault snapshot ${meta.id} (${meta.time}): ${sample.files.length} of ${sample.seenFiles} files, ${bytes} of ${sample.seenBytes} bytes (seed ${a.seed})`);
  let scratch: string;
  try {
    await mkdir(o.scratchParent, { recursive: true, mode: 0o700 });
    scratch = await mkdtemp(path.join(o.scratchParent, 'vault-drill-'));
  } catch (e) {
    return failed(`could not create the drill's scratch directory: ${(e as Error).message}`, base);
  }
  try {
    const wanted = new Set(sample.files.map((f) => f.path));
    const t0 = Date.now();
    const r = await v.restore({ storage, identity, indexPrefix: INDEX_PREFIX, snapshotId: a.snapshot_id, meta, target: scratch, select: (e) => (wanted.has(e.p) ? path.join(scratch, e.p) : null) });
    const restoreSeconds = (Date.now() - t0) / 1000;
    const bad = r.damaged[0];
    if (bad) {
      const more = r.damaged.length > 1 ? `, and ${r.damaged.length - 1} more` : '';
      return failed(`vault drill of snapshot ${meta.id} failed: file ${bad.path} (${bad.error})${more}`, base);
    }
    const buf = Buffer.allocUnsafe(1 << 20);
    for (const f of sample.files) {
      const why = await verifyFile(v.fsPath(path.join(scratch, f.path)), byPath.get(f.path)!, meta, buf).catch((e: unknown) => `it could not be checked: ${(e as Error).message}`);
      if (why) return failed(`vault drill of snapshot ${meta.id} failed: file ${f.path}: ${why}`, base);
    }
    const checkSeconds = (Date.now() - t0) / 1000 - restoreSeconds;
    const throughput = restoreSeconds > 0 ? bytes / restoreSeconds : bytes;
    const stats: RestoreDrillStats = {
      ...base, files: sample.files.length, bytes, duration_seconds: (Date.now() - started) / 1000, list_seconds: listSeconds, restore_seconds: restoreSeconds,
      check_seconds: checkSeconds, throughput_bps: throughput, rto_seconds: throughput > 0 ? sample.seenBytes / throughput : 0, live_compared: 0,
    };
    o.line('stdout', `restic-manager: verified ${stats.files} files (${bytes} bytes) chunk by chunk against the snapshot's content hashes; restore throughput ${Math.round(throughput)} B/s, RTO of the whole snapshot ≈ ${Math.round(stats.rto_seconds)} s`);
    return { status: 'succeeded', exitCode: 0, stats: stats as unknown as Record<string, unknown>, error: null, errorKind: null };
  } catch (e) {
    return failed(`vault drill of snapshot ${meta.id} failed: ${(e as Error).message}`, base);
  } finally {
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}
