import { lstat, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RestoreDrillArgs, RestoreDrillStats } from '@restic-manager/protocol';
import type { Connection, Engine, EngineError, ProgressOptions, Snapshot } from '@restic-manager/engines';
import { DrillSampler } from './drill-sample.js';
import { literalPattern } from './restore-run.js';

/** How many failed files a drill's error names (restic's lines in the job log list every one). */
const NAMED = 3;

export type DrillResult =
  | { ok: true; stats: RestoreDrillStats }
  | { ok: false; message: string; error?: EngineError; stats?: Partial<RestoreDrillStats> };

/** Whether two files hold the same bytes (read side by side in 1 MiB chunks; no hashing). */
export async function sameBytes(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const x = Buffer.allocUnsafe(1 << 20);
    const y = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(x, 0, x.length, null), fb.read(y, 0, y.length, null)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!x.subarray(0, ra.bytesRead).equals(y.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/** The snapshot to drill: the given one, else the latest (of `hostname`, when given). */
async function pickSnapshot(engine: Engine, conn: Connection, a: RestoreDrillArgs, opts: ProgressOptions): Promise<{ ok: true; snap: Snapshot } | { ok: false; message: string; error?: EngineError }> {
  const r = await engine.snapshots(conn, a.hostname && !a.snapshot_id ? { host: a.hostname } : undefined, opts);
  if (!r.ok) return { ok: false, message: `could not list snapshots: ${r.error.message}`, error: r.error };
  if (a.snapshot_id) {
    const id = a.snapshot_id;
    const snap = r.value.find((s) => s.id === id || s.shortId === id || s.id.startsWith(id));
    return snap ? { ok: true, snap } : { ok: false, message: `snapshot ${id} is not in the repository` };
  }
  const latest = r.value.reduce<Snapshot | null>((best, s) => (!best || Date.parse(s.time) > Date.parse(best.time) ? s : best), null);
  return latest ? { ok: true, snap: latest } : { ok: false, message: `no snapshot to drill${a.hostname ? ` of host ${a.hostname}` : ''}: back the host up first` };
}

/**
 * A restore drill (issue 16): samples files of the latest snapshot (drill-sample.ts), restores
 * them with `restore --verify` (restic re-reads every restored file and checks it against the
 * snapshot's blob ids) into a private scratch directory, checks each file's size against the
 * snapshot, and with `compare_live` compares each live file whose size and mtime equal the
 * snapshot's byte for byte (a difference is corruption at the source). The scratch directory
 * (mode 0700, under the system temp directory) is removed on every exit. Never throws.
 */
export async function runDrill(engine: Engine, conn: Connection, a: RestoreDrillArgs, opts: ProgressOptions): Promise<DrillResult> {
  const started = Date.now();
  const say = (line: string): void => opts.onLine?.({ stream: 'stdout', line: `restic-manager: ${line}`, ts: new Date() });
  const picked = await pickSnapshot(engine, conn, a, opts);
  if (!picked.ok) return picked;
  const snap = picked.snap;
  const sampler = new DrillSampler({ count: a.sample_files, bytes: a.sample_bytes, seed: a.seed, roots: snap.paths });
  const listing = engine.ls(conn, { snapshot: snap.id }, opts);
  for await (const e of listing.entries) if (e.type === 'file') sampler.add({ path: e.path, size: e.size ?? 0, mtime: e.mtime });
  const listed = await listing.result;
  if (!listed.ok) return { ok: false, message: `could not list snapshot ${snap.shortId}: ${listed.error.message}`, error: listed.error };
  const sample = sampler.result();
  const base = { snapshot_id: snap.id, snapshot_time: snap.time, snapshot_files: sample.seenFiles, snapshot_bytes: sample.seenBytes, seed: a.seed };
  if (sample.files.length === 0) return { ok: false, message: `snapshot ${snap.shortId} holds no regular file to drill`, stats: base };
  const bytes = sample.files.reduce((n, f) => n + f.size, 0);
  say(`drilling snapshot ${snap.shortId} (${snap.time}): ${sample.files.length} of ${sample.seenFiles} files, ${bytes} of ${sample.seenBytes} bytes (seed ${a.seed})`);

  const scratch = await mkdtemp(path.join(tmpdir(), 'restic-manager-drill-'));
  try {
    const t0 = Date.now();
    const r = await engine.restore(conn, { snapshot: snap.id, target: scratch, include: sample.files.map((f) => literalPattern(f.path)), verify: true }, opts);
    const restoreSeconds = (Date.now() - t0) / 1000;
    if (!r.ok) {
      const failed = r.error.failedFiles ?? [];
      const named = failed.slice(0, NAMED).map((f) => `${f.path} (${f.reason})`).join(', ');
      const more = (r.error.failedFileCount ?? failed.length) > NAMED ? `, and ${(r.error.failedFileCount ?? failed.length) - NAMED} more` : '';
      const message = failed.length ? `restore drill of snapshot ${snap.shortId} failed: ${failed.length === 1 ? 'file' : 'files'} ${named}${more}` : `restore drill of snapshot ${snap.shortId} failed: ${r.error.message}`;
      return { ok: false, message, error: { ...r.error, message }, stats: base };
    }
    let compared = 0;
    for (const f of sample.files) {
      const restored = path.join(scratch, f.path);
      const st = await lstat(restored).catch(() => null);
      if (!st?.isFile()) return { ok: false, message: `restore drill of snapshot ${snap.shortId} failed: file ${f.path} was not restored`, stats: base };
      if (st.size !== f.size) return { ok: false, message: `restore drill of snapshot ${snap.shortId} failed: file ${f.path} was restored with ${st.size} bytes, the snapshot holds ${f.size}`, stats: base };
      if (!a.compare_live || !f.mtime) continue;
      const live = await lstat(f.path).catch(() => null);
      if (!live?.isFile() || live.size !== f.size || Math.floor(live.mtimeMs) !== Date.parse(f.mtime)) continue;
      if (!(await sameBytes(restored, f.path))) return { ok: false, message: `restore drill of snapshot ${snap.shortId} failed: live file ${f.path} differs from the snapshot although its size and mtime are unchanged (silent corruption at the source)`, stats: base };
      compared++;
    }
    const throughput = restoreSeconds > 0 ? bytes / restoreSeconds : bytes;
    const stats: RestoreDrillStats = {
      ...base, files: sample.files.length, bytes, duration_seconds: (Date.now() - started) / 1000, restore_seconds: restoreSeconds,
      throughput_bps: throughput, rto_seconds: throughput > 0 ? sample.seenBytes / throughput : 0, live_compared: compared,
    };
    say(`verified ${stats.files} files (${bytes} bytes) against the snapshot${a.compare_live ? `, ${compared} of them against the unchanged live file` : ''}; restore throughput ${Math.round(throughput)} B/s, RTO of the whole snapshot ≈ ${Math.round(stats.rto_seconds)} s`);
    return { ok: true, stats };
  } finally {
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}
