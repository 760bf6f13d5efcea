/**
 * The operations the driver picks from, each through the product (run-now jobs and the restore
 * wizard's endpoint): start the job, then judge how it ended. A job hit by a fault may fail,
 * but must end; one left alone must succeed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Ctx } from './context.js';
import { invariant, nextRestoreTarget, timed } from './context.js';
import type { Job } from './repo.js';
import { jobLog, repoSnapshotFiles, sameBelow, serverSnapshots, startJob, startRestore, until } from './repo.js';
import { hashRawTree, restoreDiff, withoutSubtree, wrongFiles } from './tree-hash.js';

export interface Started {
  jobId: string;
  /** Judges the finished job. `faulted`: a fault hit it (failure allowed); `agentKilled`: no cleanup was possible. */
  finish(job: Job, f: { faulted: boolean; agentKilled: boolean }): Promise<string>;
}

export type OpName = 'backup' | 'restore' | 'forget' | 'prune' | 'check' | 'snapshots';

/** Changes the churn directory: adds, rewrites and removes a few files. */
function churn(ctx: Ctx): void {
  const { rng, churnDir } = ctx;
  fs.mkdirSync(churnDir, { recursive: true });
  const existing = fs.readdirSync(churnDir);
  for (const f of existing) if (rng.chance(0.2)) fs.rmSync(path.join(churnDir, f));
  const adds = rng.int(1, 4);
  for (let i = 0; i < adds; i++) fs.writeFileSync(path.join(churnDir, `c${ctx.step}-${i}.bin`), rng.bytes(rng.int(1, 512) * 1024));
}

const expectOk = (ctx: Ctx, job: Job, faulted: boolean, what: string): void => {
  if (!faulted) invariant(ctx, job.status === 'succeeded' ? null : `${what} without a fault ended ${job.status}: ${job.error_kind ?? ''} ${job.error ?? ''}`);
};

async function backup(ctx: Ctx): Promise<Started> {
  churn(ctx);
  const tree = await timed(ctx, 'tree hashing', () => hashRawTree(ctx.srcDir, new Map([[path.basename(ctx.corpus.dir), ctx.corpus.tree]])));
  const args: Record<string, unknown> = { paths: [ctx.srcDir], tags: [`step-${ctx.step}`] };
  if (ctx.rng.chance(0.5)) args.limit_upload_kbps = ctx.rng.int(512, 4096);
  const jobId = await startJob(ctx.s, 'backup', args);
  return {
    jobId,
    async finish(job, f) {
      expectOk(ctx, job, f.faulted, 'backup');
      if (job.status !== 'succeeded') return `backup ${job.status}${job.error_kind ? ` (${job.error_kind})` : ''}`;
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
        return `${what} ${job.status}${job.error_kind ? ` (${job.error_kind})` : ''}`;
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
      return `${kind} ${job.status}${job.error_kind ? ` (${job.error_kind})` : ''}`;
    },
  };
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
  }
}
