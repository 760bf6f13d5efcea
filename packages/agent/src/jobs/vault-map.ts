/** Pure mappings between the protocol's shapes and the vault library's (unit-tested). */
import type { Progress } from '@restic-manager/engines';
import type { RetentionPolicy } from '@restic-manager/protocol';
import type { BackupProgress, RetentionPolicy as VaultPolicy } from '@restic-manager/vault';

/** vault BackupProgress -> the agent's normalised Progress (job.progress). */
export function vaultProgress(p: BackupProgress): Progress {
  const secs = p.elapsedMs / 1000;
  const throughput = secs > 0 ? p.bytesDone / secs : null;
  const left = p.bytesTotal - p.bytesDone;
  const percent = p.phase === 'done' ? 1 : p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0;
  return {
    percentDone: percent,
    filesDone: p.filesDone,
    totalFiles: p.phase === 'scan' ? null : p.filesTotal,
    bytesDone: p.bytesDone,
    totalBytes: p.phase === 'scan' ? null : p.bytesTotal,
    etaSeconds: throughput && throughput > 0 && p.phase === 'upload' ? Math.max(0, Math.round(left / throughput)) : null,
    throughputBps: throughput === null ? null : Math.round(throughput),
    elapsedSeconds: Math.round(secs),
    currentFiles: [],
    errorCount: 0,
  };
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, m: 30 * 86_400_000, y: 365 * 86_400_000 };

/** The protocol's (restic-style) retention policy as vault's; a string names what vault cannot do. */
export function vaultPolicy(p: RetentionPolicy): VaultPolicy | string {
  if (p.keep_tag?.length) return 'vault snapshots have no tags: keep_tag is not supported for vault_prune';
  const out: VaultPolicy = {};
  for (const k of ['keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly'] as const) {
    if (p[k] !== undefined) out[k] = p[k];
  }
  if (p.keep_within) {
    let ms = 0;
    for (const m of p.keep_within.matchAll(/(\d+)([ymdh])/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    out.keep_within = ms;
  }
  return out;
}
