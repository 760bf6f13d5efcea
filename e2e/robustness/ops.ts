/**
 * The operations the driver picks from, each through the product (run-now jobs and the restore
 * wizard's endpoint): start the job, then judge how it ended. A job hit by a fault may fail,
 * but must end; one left alone must succeed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Ctx } from './context.js';
import { ended, expectOk, hashSource, invariant, nextRestoreTarget, timed } from './context.js';
import type { Job } from './repo.js';
import { jobLog, repoSnapshotFiles, resticCheck, resticRestore, resticSnapshots, sameBelow, serverSnapshots, startJob, startRestore, until } from './repo.js';
import { COPY_PASSWORD } from './stack.js';
import { hashRawTree, restoreDiff, withoutSubtree, wrongFiles } from './tree-hash.js';
import { vaultBackup, vaultSimple } from './vault.js';

export interface Started {
  jobId: string;
  /** Judges the finished job. `faulted`: a fault hit it (failure allowed); `agentKilled`: no cleanup was possible. */
  finish(job: Job, f: { faulted: boolean; agentKilled: boolean }): Promise<string>;
}

export type OpName = 'backup' | 'restore' | 'forget' | 'prune' | 'check' | 'snapshots' | 'copy' | 'vault_backup' | 'vault_prune' | 'vault_check';

/** Changes the churn directory: adds, rewrites and removes a few files. */
function churn(ctx: Ctx): void {
  const { rng, churnDir } = ctx;
  fs.mkdirSync(churnDir, { recursive: true });
  const existing = fs.readdirSync(churnDir);
  for (const f of existing) if (rng.chance(0.2)) fs.rmSync(path.join(churnDir, f));
  const adds = rng.int(1, 4);
  for (let i = 0; i < adds; i++) fs.writeFileSync(path.join(churnDir, `c${ctx.step}-${i}.bin`), rng.bytes(rng.int(1, 512) * 1024));
}

async function backup(ctx: Ctx): Promise<Started> {
  churn(ctx);
  const tree = await hashSource(ctx);
  const args: Record<string, unknown> = { paths: [ctx.srcDir], tags: [`step-${ctx.step}`] };
  if (ctx.rng.chance(0.5)) args.limit_upload_kbps = ctx.rng.int(512, 4096);
  const jobId = await startJob(ctx.s, 'backup', args);
  return {
    jobId,
    async finish(job, f) {
      expectOk(ctx, job, f.faulted, 'backup');
      if (job.status !== 'succeeded') return ended('backup', job);
      const short = typeof job.stats?.snapshotId === 'string' ? job.stats.snapshotId : '';
      const id = short ? (repoSnapshotFiles(ctx.s.repoDir).find((x) => x.startsWith(short)) ?? null) : null;
      invariant(ctx, id ? null : `a succeeded backup names no snapshot of the repository in its stats (snapshotId ${short || 'missing'}): ${JSON.stringify(job.stats)}`);
      if (id) ctx.recorded.set(id, tree);
      return `backup succeeded, snapshot ${id?.slice(0, 8) ?? '?'} (${tree.files} files)`;
    },
  };
}

/**
 * Whether a restore of `snapshotId` must include the big directory: yes unless its copy there is
 * known good (manyVerified), or `restic diff` shows it identical there to a snapshot that is.
 */
async function needsMany(ctx: Ctx, snapshotId: string): Promise<boolean> {
  if (ctx.manyVerified.has(snapshotId)) return false;
  const known = [...ctx.manyVerified].filter((v) => ctx.recorded.has(v)).pop();
  if (!known) return true;
  const same = await timed(ctx, 'restic diff (verification)', () => sameBelow(ctx.s.repoDir, known, snapshotId, ctx.many.dir)).catch(() => false);
  if (same) ctx.manyVerified.add(snapshotId);
  return !same;
}

/**
 * Restores `snapshotId` under a fresh directory and compares it with the recorded tree byte for
 * byte. In full the first time (or when `full`); once its big directory is known good, without
 * that directory (everything else, the hostile names included, is still compared).
 */
export async function restoreAndCompare(ctx: Ctx, snapshotId: string, opts: { full?: boolean } = {}): Promise<Started> {
  // The server learns a snapshot from the agent's snapshots report, sent after the backup's
  // job.finished, and refuses a restore of one it does not list: wait for it as a user would.
  const listed = (await timed(ctx, 'restore: snapshot listed by the server', () => until(() => serverSnapshots(ctx.s), (ids) => ids.includes(snapshotId), 30_000))).includes(snapshotId);
  invariant(ctx, listed ? null : `the server does not list snapshot ${snapshotId.slice(0, 8)} 30 s after its backup succeeded`);
  const target = nextRestoreTarget(ctx);
  const full = opts.full === true || (await needsMany(ctx, snapshotId));
  const recorded = ctx.recorded.get(snapshotId)!;
  const expected = full ? recorded : withoutSubtree(recorded, ctx.many.key);
  if (full) ctx.restores.full++;
  else ctx.restores.withoutMany++;
  const jobId = await startRestore(ctx.s, snapshotId, target, full ? [] : [ctx.many.dir]);
  const restored = path.join(target, ctx.srcDir);
  const what = `restore of ${snapshotId.slice(0, 8)}${full ? '' : ' (big directory verified before: left out)'}`;
  return {
    jobId,
    async finish(job, f) {
      try {
        expectOk(ctx, job, f.faulted, what);
        const actual = fs.existsSync(restored) ? await timed(ctx, 'tree hashing', () => hashRawTree(restored)) : null;
        if (job.status === 'succeeded') {
          const diff = actual ? restoreDiff(expected, actual) : ['nothing restored'];
          invariant(ctx, diff.length ? `${what} succeeded but differs from the recorded tree:\n  ${diff.join('\n  ')}` : null);
          if (full && diff.length === 0) ctx.manyVerified.add(snapshotId);
          return `${what} ${diff.length ? 'DIFFERS' : 'exact'} (${expected.files} files)`;
        }
        if (!f.agentKilled && actual) {
          const wrong = wrongFiles(expected, actual);
          invariant(ctx, wrong.length ? `${what} ended ${job.status} leaving files with wrong content under their names:\n  ${wrong.join('\n  ')}` : null);
        }
        return ended(what, job);
      } finally {
        await timed(ctx, 'cleanup', () => fs.promises.rm(target, { recursive: true, force: true }));
      }
    },
  };
}

async function restore(ctx: Ctx): Promise<Started | null> {
  const ids = [...ctx.recorded.keys()];
  if (ids.length === 0) return null;
  return restoreAndCompare(ctx, ctx.rng.pick(ids));
}

async function simple(ctx: Ctx, kind: string, args: Record<string, unknown>): Promise<Started> {
  const jobId = await startJob(ctx.s, kind, args);
  return {
    jobId,
    async finish(job, f) {
      expectOk(ctx, job, f.faulted, `${kind} ${JSON.stringify(args)}`);
      if (job.status === 'failed' && !f.faulted) ctx.log(`  ${kind} log: ${(await jobLog(ctx.s, jobId)).slice(-1500)}`);
      return ended(kind, job);
    },
  };
}

/**
 * What a finished copy left in the copy repository, checked against the source: every snapshot
 * there is a copy (restic sets `original`) of a snapshot the run backed up, with the same tree
 * (restic copies with the source's chunker parameters, so a copy's tree id is its original's:
 * the same content ids all the way down), and the copy repository checks clean. Records the
 * copies of snapshots still in the model, for `restoreCopyAndCompare`.
 */
async function judgeCopies(ctx: Ctx): Promise<string> {
  const [copied, source] = await timed(ctx, 'copy: listings', () => Promise.all([resticSnapshots(ctx.s.copyDir, COPY_PASSWORD), resticSnapshots(ctx.s.repoDir)]));
  const trees = new Map(source.map((x) => [x.id, x.tree]));
  const odd = copied.filter((c) => !c.original || (trees.has(c.original) && trees.get(c.original) !== c.tree));
  invariant(ctx, odd.length ? `the copy repository holds snapshots that are no copy of the source's, or whose tree differs from the original's: ${odd.map((c) => `${c.id.slice(0, 8)} (original ${c.original?.slice(0, 8) ?? 'none'})`).join(', ')}` : null);
  const missing = [...ctx.recorded.keys()].filter((id) => !copied.some((c) => c.original === id));
  invariant(ctx, missing.length ? `a copy succeeded but left recorded snapshots out of the copy repository: ${missing.map((m) => m.slice(0, 8)).join(', ')}` : null);
  for (const c of copied) if (c.original && ctx.recorded.has(c.original)) ctx.copies.set(c.id, c.original);
  const check = await timed(ctx, 'copy: restic check', () => resticCheck(ctx.s.copyDir, false, COPY_PASSWORD));
  invariant(ctx, check.ok ? null : `the copy repository fails restic check after a succeeded copy:\n${check.output}`);
  return `${copied.length} snapshots in the copy repository`;
}

async function copy(ctx: Ctx): Promise<Started | null> {
  const policy = ctx.s.copyPolicyId;
  if (!policy || ctx.recorded.size === 0) return null;
  const r = await ctx.s.api.req('POST', `/api/copy-policies/${policy}/run`, {});
  if (r.status !== 202) throw new Error(`copy run-now: ${r.status} ${JSON.stringify(r.body)}`);
  const jobId = (r.body.job_ids as string[])[0]!;
  return {
    jobId,
    async finish(job, f) {
      expectOk(ctx, job, f.faulted, 'copy');
      if (job.status !== 'succeeded') {
        ctx.copyRuns.other++;
        return ended('copy', job);
      }
      ctx.copyRuns.succeeded++;
      return `copy succeeded (${String(job.stats?.copied ?? '?')} copied; ${await judgeCopies(ctx)})`;
    },
  };
}

/**
 * Restores a copy straight from the copy repository with restic (a user's way back when the
 * primary repository is lost) and compares it with its original's recorded tree, the big
 * directory left out (its content ids are the original's: the tree ids are equal).
 */
export async function restoreCopyAndCompare(ctx: Ctx): Promise<string | null> {
  for (const [c, o] of ctx.copies) if (!ctx.recorded.has(o)) ctx.copies.delete(c);
  if (ctx.copies.size === 0) return null;
  const [copyId, original] = ctx.rng.pick([...ctx.copies]);
  const target = nextRestoreTarget(ctx);
  const what = `restore of copy ${copyId.slice(0, 8)} (of ${original.slice(0, 8)}) from the copy repository`;
  try {
    const failed = await timed(ctx, 'copy: restore', () => resticRestore(ctx.s.copyDir, COPY_PASSWORD, copyId, target, [ctx.many.dir]).then(() => null, (e: { stderr?: string }) => e.stderr ?? String(e)));
    invariant(ctx, failed ? `${what} failed:\n${failed.slice(-2000)}` : null);
    if (failed) return `${what} FAILED`;
    const restored = path.join(target, ctx.srcDir);
    const expected = withoutSubtree(ctx.recorded.get(original)!, ctx.many.key);
    const diff = fs.existsSync(restored) ? restoreDiff(expected, await timed(ctx, 'tree hashing', () => hashRawTree(restored))) : ['nothing restored'];
    invariant(ctx, diff.length ? `${what} differs from the original's recorded tree:\n  ${diff.join('\n  ')}` : null);
    ctx.copyRuns.restored++;
    return `${what} ${diff.length ? 'DIFFERS' : 'exact'} (${expected.files} files)`;
  } finally {
    await timed(ctx, 'cleanup', () => fs.promises.rm(target, { recursive: true, force: true }));
  }
}

/** Starts an operation; null when it has nothing to work on yet (e.g. a restore before any backup). */
export function startOp(ctx: Ctx, op: OpName): Promise<Started | null> {
  switch (op) {
    case 'backup':
      return backup(ctx);
    case 'restore':
      return restore(ctx);
    case 'forget':
      return simple(ctx, 'forget', { policy: { keep_last: ctx.rng.int(2, 5) }, prune: ctx.rng.chance(0.3) });
    case 'prune':
      return simple(ctx, 'prune', {});
    case 'check':
      return simple(ctx, 'check', ctx.rng.chance(0.5) ? { read_data_subset: `${ctx.rng.int(1, 100)}%` } : {});
    case 'snapshots':
      return simple(ctx, 'snapshots', {});
    case 'copy':
      return copy(ctx);
    case 'vault_backup':
      return ctx.vault ? vaultBackup(ctx) : Promise.resolve(null);
    case 'vault_prune':
      return ctx.vault && ctx.vault.recorded.size > 0 ? vaultSimple(ctx, 'vault_prune', { policy: { keep_last: ctx.rng.int(2, 5) } }) : Promise.resolve(null);
    case 'vault_check':
      return ctx.vault && ctx.vault.recorded.size > 0 ? vaultSimple(ctx, 'vault_check', { read_data: ctx.rng.chance(0.5) }) : Promise.resolve(null);
  }
}
