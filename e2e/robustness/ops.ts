/**
 * The operations the driver picks from, each through the product (run-now jobs and the restore
 * wizard's endpoint): start the job, then judge how it ended. A job hit by a fault may fail,
 * but must end; one left alone must succeed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Ctx } from './context.js';
import { invariant, nextRestoreTarget } from './context.js';
import type { Job } from './repo.js';
import { jobLog, repoSnapshots, startJob, startRestore } from './repo.js';
import { hashRawTree, restoreDiff, wrongFiles } from './tree-hash.js';

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
  const tree = hashRawTree(ctx.srcDir);
  const args: Record<string, unknown> = { paths: [ctx.srcDir], tags: [`step-${ctx.step}`] };
  if (ctx.rng.chance(0.5)) args.limit_upload_kbps = ctx.rng.int(512, 4096);
  const jobId = await startJob(ctx.s, 'backup', args);
  return {
    jobId,
    async finish(job, f) {
      expectOk(ctx, job, f.faulted, 'backup');
      if (job.status !== 'succeeded') return `backup ${job.status}${job.error_kind ? ` (${job.error_kind})` : ''}`;
      const short = typeof job.stats?.snapshotId === 'string' ? job.stats.snapshotId : '';
      const id = short ? ((await repoSnapshots(ctx.s.repoDir)).find((x) => x.startsWith(short)) ?? null) : null;
      invariant(ctx, id ? null : `a succeeded backup names no snapshot of the repository in its stats (snapshotId ${short || 'missing'}): ${JSON.stringify(job.stats)}`);
      if (id) ctx.recorded.set(id, tree);
      return `backup succeeded, snapshot ${id?.slice(0, 8) ?? '?'} (${tree.files} files)`;
    },
  };
}

/** Restores `snapshotId` under a fresh directory and compares it with the recorded tree. */
export async function restoreAndCompare(ctx: Ctx, snapshotId: string): Promise<Started> {
  const target = nextRestoreTarget(ctx);
  const expected = ctx.recorded.get(snapshotId)!;
  const jobId = await startRestore(ctx.s, snapshotId, target);
  const restored = path.join(target, ctx.srcDir);
  return {
    jobId,
    async finish(job, f) {
      try {
        expectOk(ctx, job, f.faulted, `restore of ${snapshotId.slice(0, 8)}`);
        const actual = fs.existsSync(restored) ? hashRawTree(restored) : null;
        if (job.status === 'succeeded') {
          const diff = actual ? restoreDiff(expected, actual) : ['nothing restored'];
          invariant(ctx, diff.length ? `restore of ${snapshotId.slice(0, 8)} succeeded but differs from the recorded tree:\n  ${diff.join('\n  ')}` : null);
          return `restore of ${snapshotId.slice(0, 8)} ${diff.length ? 'DIFFERS' : 'exact'} (${expected.files} files)`;
        }
        if (!f.agentKilled && actual) {
          const wrong = wrongFiles(expected, actual);
          invariant(ctx, wrong.length ? `restore of ${snapshotId.slice(0, 8)} ended ${job.status} leaving files with wrong content under their names:\n  ${wrong.join('\n  ')}` : null);
        }
        return `restore ${job.status}${job.error_kind ? ` (${job.error_kind})` : ''}`;
      } finally {
        fs.rmSync(target, { recursive: true, force: true });
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
