/**
 * Faults on the repository itself, each a short scenario with what the product must do:
 * - a corrupted or truncated pack: a restore that needs it fails (restore_failed alert, no
 *   wrong file left) or is exact, and a check reading all data fails; then the pack is put back;
 * - a held lock (a restic process stopped with SIGSTOP): an exclusive job fails with lock_failed
 *   instead of hanging; once the holder is killed -9 its lock is stale and the next job runs;
 * - a full disk (the repository's tmpfs shrunk to what it holds): the backup fails and says
 *   "no space left on device" in the job and its alert; after space returns, backups succeed;
 * - a corrupted vault blob (vault.ts): a vault_check reading every blob fails with an alert, and
 *   the trusted machine's restore names the damaged files and leaves none with wrong content.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { eventually } from '../agent-harness.js';
import { holdLock, stop } from '../restic-locks.js';
import type { Ctx } from './context.js';
import { countFault, invariant } from './context.js';
import { restoreAndCompare } from './ops.js';
import { allAlerts, jobLog, resticCheck, startJob, waitJob } from './repo.js';
import { flip32, whileDamaged } from './damage.js';
import { REPO_PASSWORD } from './stack.js';
import { corruptVaultBlob } from './vault.js';

export const REPO_FAULTS = ['corrupt_pack', 'truncate_pack', 'held_lock', 'disk_full', 'corrupt_vault_blob'] as const;
export type RepoFault = (typeof REPO_FAULTS)[number];

/**
 * How often each repository fault is picked, relative to the others. A truncated pack costs a
 * restore 50–120 s (restic 0.14 retries the short read with backoff) against about 10 s for the
 * others, and it tests nothing a second time that the first did not: at equal weights it took
 * half of a long run's time. Every kind still runs at least once (the driver forces missing kinds).
 */
export const REPO_FAULT_WEIGHTS: Record<RepoFault, number> = { corrupt_pack: 6, truncate_pack: 1, held_lock: 6, disk_full: 6, corrupt_vault_blob: 4 };

function packs(repo: string): string[] {
  const data = path.join(repo, 'data');
  return fs.readdirSync(data).flatMap((d) => fs.readdirSync(path.join(data, d)).map((f) => path.join(data, d, f))).sort();
}

async function damagedPack(ctx: Ctx, kind: 'corrupt_pack' | 'truncate_pack'): Promise<string> {
  const ids = [...ctx.recorded.keys()];
  const all = packs(ctx.s.repoDir);
  if (ids.length === 0 || all.length === 0) return 'nothing backed up yet: skipped';
  const pack = ctx.rng.pick(all);
  const original = fs.readFileSync(pack);
  let damaged: Buffer;
  let what: string;
  if (kind === 'corrupt_pack') {
    const f = flip32(ctx, original);
    damaged = f.damaged;
    what = `32 bytes flipped at ${f.at} of ${path.basename(pack).slice(0, 8)} (${original.length} bytes)`;
  } else {
    const keep = ctx.rng.int(0, original.length - 1);
    damaged = original.subarray(0, keep);
    what = `${path.basename(pack).slice(0, 8)} truncated to ${keep} of ${original.length} bytes`;
  }
  return whileDamaged(ctx, pack, original, damaged, async () => {
    countFault(ctx, kind);
    const sid = ctx.rng.pick(ids);
    const before = new Set((await allAlerts(ctx.s)).map((a) => a.id as string));
    const r = await restoreAndCompare(ctx, sid);
    const rj = await waitJob(ctx.s, r.jobId, ctx.jobTimeoutMs);
    const restoreOutcome = await r.finish(rj, { faulted: true, agentKilled: false });
    if (rj.status === 'failed') {
      const raised = await eventually(async () => (await allAlerts(ctx.s)).some((a) => a.kind === 'restore_failed' && (!before.has(a.id as string) || a.resolved_at === null)), 15_000, 'a restore_failed alert').catch(() => false);
      invariant(ctx, raised ? null : `a restore failed on a damaged pack (${what}) but raised no restore_failed alert`);
      invariant(ctx, rj.error ? null : 'a failed restore carries no error summary');
    }
    const check = await waitJob(ctx.s, await startJob(ctx.s, 'check', { read_data_subset: '100%' }), ctx.jobTimeoutMs);
    // A pack no index references (left by a failed backup) is not read by any check: restic run
    // directly says whether the damage is there to find.
    const direct = check.status === 'failed' ? null : await resticCheck(ctx.s.repoDir, true);
    invariant(ctx, check.status === 'failed' || direct?.ok ? null : `check reading all data passed with a damaged pack (${what}) that restic check --read-data finds:\n${direct?.output ?? ''}`);
    if (direct?.ok) what += ' (a pack no index references: nothing for a check to find)';
    return `${what}; ${restoreOutcome}; check --read-data-subset 100% ${check.status}${check.error_kind ? ` (${check.error_kind})` : ''}`;
  });
}

async function heldLock(ctx: Ctx): Promise<string> {
  const held = await holdLock(ctx.s.repoDir, REPO_PASSWORD);
  held.proc.kill('SIGSTOP');
  countFault(ctx, 'held_lock');
  try {
    const prune = await waitJob(ctx.s, await startJob(ctx.s, 'prune', {}), ctx.jobTimeoutMs);
    invariant(ctx, prune.status === 'failed' && prune.error_kind === 'lock_failed' ? null : `prune against a live lock (PID ${held.pid}, stopped) ended ${prune.status} ${prune.error_kind ?? ''}: ${prune.error ?? ''}`);
    invariant(ctx, prune.status !== 'failed' || (prune.error ?? '').includes(`PID ${held.pid}`) ? null : `lock_failed does not name the holder PID ${held.pid}: ${prune.error ?? ''}`);
    await stop(held.proc, 'SIGKILL');
    const again = await waitJob(ctx.s, await startJob(ctx.s, 'prune', {}), ctx.jobTimeoutMs);
    invariant(ctx, again.status === 'succeeded' ? null : `prune after the holder was killed -9 (stale lock) ended ${again.status}: ${again.error ?? ''}`);
    return `prune with a live lock ${prune.status} (${prune.error_kind ?? ''}); holder killed -9; prune with its stale lock ${again.status}`;
  } finally {
    await stop(held.proc, 'SIGKILL');
  }
}

function tmpfsUsed(dir: string): number {
  const out = execFileSync('df', ['-B1', '--output=used', dir], { encoding: 'utf8' }).trim().split('\n');
  return Number(out[out.length - 1]);
}

async function diskFull(ctx: Ctx): Promise<string> {
  const size = ctx.s.tmpfsBytes;
  if (size === null) {
    ctx.tally.skipped.set('disk_full', ctx.s.tmpfsNote);
    return `skipped: ${ctx.s.tmpfsNote}`;
  }
  fs.writeFileSync(path.join(ctx.churnDir, `big-${ctx.step}.bin`), ctx.rng.bytes(3 << 20));
  const limit = tmpfsUsed(ctx.s.repoDir) + (64 << 10);
  execFileSync('mount', ['-o', `remount,size=${limit}`, ctx.s.repoDir]);
  countFault(ctx, 'disk_full');
  try {
    const id = await startJob(ctx.s, 'backup', { paths: [ctx.srcDir] });
    const job = await waitJob(ctx.s, id, ctx.jobTimeoutMs);
    invariant(ctx, job.status === 'failed' ? null : `backup onto a full disk ended ${job.status}`);
    invariant(ctx, /no space left on device/i.test(job.error ?? '') ? null : `the full-disk backup's error does not say "no space left on device": ${job.error_kind ?? ''} ${job.error ?? ''}`);
    const alert = (await allAlerts(ctx.s)).find((a) => String(a.message).includes(id) || String(a.message).includes(id.slice(0, 8)));
    invariant(ctx, !alert || /no space left on device/i.test(String(alert.message)) ? null : `the full-disk backup's alert loses the reason: ${String(alert?.message)}`);
    if (job.status === 'failed' && !/no space/i.test(job.error ?? '')) ctx.log(`  disk-full log: ${(await jobLog(ctx.s, id)).slice(-800)}`);
    return `backup on a full disk ${job.status}: ${(job.error ?? '').slice(0, 120)}`;
  } finally {
    execFileSync('mount', ['-o', `remount,size=${size}`, ctx.s.repoDir]);
  }
}

export function injectRepoFault(ctx: Ctx, kind: RepoFault): Promise<string> {
  switch (kind) {
    case 'corrupt_pack':
    case 'truncate_pack':
      return damagedPack(ctx, kind);
    case 'held_lock':
      return heldLock(ctx);
    case 'disk_full':
      return diskFull(ctx);
    case 'corrupt_vault_blob':
      return corruptVaultBlob(ctx);
  }
}

/** A pack a killed run left damaged gets its original bytes back (before the next leg starts): what it repaired, or null. */
export function repairLeftPack(file: string): string | null {
  if (!fs.existsSync(file)) return null;
  const pack = fs.readFileSync(file, 'utf8');
  fs.chmodSync(pack, 0o600);
  fs.writeFileSync(pack, fs.readFileSync(`${file}.bin`));
  fs.chmodSync(pack, 0o400);
  fs.rmSync(file);
  fs.rmSync(`${file}.bin`, { force: true });
  return pack;
}
