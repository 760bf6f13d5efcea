import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RestoreDrillArgs, RestoreDrillStats } from '@restic-manager/protocol';
import type { Connection, Engine, EngineError, ProgressOptions, Snapshot } from '@restic-manager/engines';
import { checkRestored } from './drill-check.js';
import { DrillSampler } from './drill-sample.js';
import { literalPattern } from './restore-run.js';

/** How many failed files a drill's error names (restic's lines in the job log list every one). */
const NAMED = 3;

export type DrillResult =
  | { ok: true; stats: RestoreDrillStats }
  | { ok: false; message: string; error?: EngineError; stats?: Partial<RestoreDrillStats> };

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
 * (`scratchDir`, created 0700 — the runner gives `<state>/drills/drill-<job id>`, on disk rather
 * than a RAM-backed /tmp — else a fresh one under the system temp directory) is removed on every
 * exit. Never throws.
 */
export async function runDrill(engine: Engine, conn: Connection, a: RestoreDrillArgs, opts: ProgressOptions, scratchDir?: string): Promise<DrillResult> {
  const started = Date.now();
  const say = (line: string): void => opts.onLine?.({ stream: 'stdout', line: `restic-manager: ${line}`, ts: new Date() });
  // restic picks and lists the snapshot in one `ls` (it prints the snapshot first); other engines list snapshots first.
  const found: { v: { snap: Snapshot; sampler: DrillSampler } | null } = { v: null };
  const onSnapshot = (s: Snapshot): void => {
    found.v = { snap: s, sampler: new DrillSampler({ count: a.sample_files, bytes: a.sample_bytes, seed: a.seed, roots: s.paths }) };
  };
  if (engine.name !== 'restic') {
    const picked = await pickSnapshot(engine, conn, a, opts);
    if (!picked.ok) return picked;
    onSnapshot(picked.snap);
  }
  const what = a.snapshot_id ?? 'latest';
  const req = found.v ? { snapshot: found.v.snap.id } : { snapshot: what, ...(!a.snapshot_id && a.hostname ? { host: a.hostname } : {}), onSnapshot };
  const listing = engine.ls(conn, req, opts);
  for await (const e of listing.entries) if (e.type === 'file') found.v?.sampler.add({ path: e.path, size: e.size ?? 0, mtime: e.mtime });
  const listed = await listing.result;
  if (!listed.ok) return { ok: false, message: `could not list snapshot ${what}: ${listed.error.message}`, error: listed.error };
  if (!found.v) return { ok: false, message: a.snapshot_id ? `snapshot ${a.snapshot_id} is not in the repository` : `no snapshot to drill${a.hostname ? ` of host ${a.hostname}` : ''}: back the host up first` };
  const { snap, sampler } = found.v;
  const sample = sampler.result();
  const listSeconds = (Date.now() - started) / 1000;
  const base = { snapshot_id: snap.id, snapshot_time: snap.time, snapshot_files: sample.seenFiles, snapshot_bytes: sample.seenBytes, seed: a.seed };
  if (sample.files.length === 0) return { ok: false, message: `snapshot ${snap.shortId} holds no regular file to drill`, stats: base };
  const bytes = sample.files.reduce((n, f) => n + f.size, 0);
  say(`drilling snapshot ${snap.shortId} (${snap.time}): ${sample.files.length} of ${sample.seenFiles} files, ${bytes} of ${sample.seenBytes} bytes (seed ${a.seed})`);

  let scratch: string;
  try {
    if (scratchDir) {
      await mkdir(path.dirname(scratchDir), { recursive: true, mode: 0o700 });
      await mkdir(scratchDir, { mode: 0o700 });
    }
    scratch = scratchDir ?? (await mkdtemp(path.join(tmpdir(), 'restic-manager-drill-')));
  } catch (e) {
    return { ok: false, message: `could not create the drill's scratch directory: ${(e as Error).message}`, stats: base };
  }
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
    const checked = await checkRestored(sample.files, scratch, a.compare_live);
    if (!checked.ok) return { ok: false, message: `restore drill of snapshot ${snap.shortId} failed: ${checked.why}`, stats: base };
    const compared = checked.compared;
    const checkSeconds = (Date.now() - t0) / 1000 - restoreSeconds;
    const throughput = restoreSeconds > 0 ? bytes / restoreSeconds : bytes;
    const stats: RestoreDrillStats = {
      ...base, files: sample.files.length, bytes, duration_seconds: (Date.now() - started) / 1000, list_seconds: listSeconds, restore_seconds: restoreSeconds, check_seconds: checkSeconds,
      throughput_bps: throughput, rto_seconds: throughput > 0 ? sample.seenBytes / throughput : 0, live_compared: compared,
    };
    say(`verified ${stats.files} files (${bytes} bytes) against the snapshot${a.compare_live ? `, ${compared} of them against the unchanged live file` : ''}; restore throughput ${Math.round(throughput)} B/s, RTO of the whole snapshot ≈ ${Math.round(stats.rto_seconds)} s`);
    return { ok: true, stats };
  } finally {
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}
