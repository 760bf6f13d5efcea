/**
 * The invariants checked after every step:
 * 1. no job stays queued or running: with the agent and server alive, every job ends within a bound;
 * 2. every snapshot the server lists exists in the repository (`restic snapshots` run directly);
 * 3. `restic check` is clean, or the product has reported the damage (an open check_failed or restore_failed alert);
 * 4. a sampled recorded snapshot restores byte for byte (every `sampleEvery` steps; its big
 *    directory is left out once known good, except every `fullEvery`-th sample);
 * 5. no secret in any process argv (sampled all along) nor in the agent, server or restic-argv logs;
 * 6. the source corpus is unchanged (hashed again every `rehashEvery` steps and at the end);
 * 7. with the sampled restore, a copy of a recorded snapshot restores from the copy repository
 *    (restic run directly) to its original's recorded tree (ops.ts judges each copy as it ends:
 *    copies of the run's snapshots, same trees, a copy repository that checks clean);
 * 8. the vault (vault.ts): the server's vault snapshots are committed in the storage, recorded
 *    ones disappear only by a prune, and with the sampled restore one restores by the CLI with the
 *    private key to its recorded tree and the key-assisted check reading every blob is clean.
 * The model follows the repository: snapshots forgotten by the product are dropped from it.
 */
import type { Ctx } from './context.js';
import { invariant, timed } from './context.js';
import { restoreAndCompare, restoreCopyAndCompare } from './ops.js';
import { hashRawTree, restoreDiff } from './tree-hash.js';
import { checkVaultInvariants } from './vault.js';
import { openAlerts, repoFingerprint, repoSnapshotFiles, resticCheck, serverSnapshots, unfinishedJobs, until, waitJob } from './repo.js';

export interface InvariantOptions {
  secrets: string[];
  argvLeaks: Set<string>;
  settleMs: number;
  sampleRestore: boolean;
  /** The sampled restore includes the big directory even when it is known good. */
  fullRestore: boolean;
  rehashCorpus: boolean;
}

export async function checkInvariants(ctx: Ctx, o: InvariantOptions): Promise<void> {
  // 1. settle
  const stuck = (await timed(ctx, 'invariants: settle', () => until(() => unfinishedJobs(ctx.s), (j) => j.length === 0, o.settleMs))).map((j) => `${j.kind} ${j.id} ${j.status}`);
  invariant(ctx, stuck.length ? `jobs still unfinished ${o.settleMs} ms after the step with the agent alive: ${stuck.join(', ')}` : null);

  // 2. server snapshots exist in the repository (the server's cache may lag a moment)
  // (read from the repository's snapshots/ directory; the restic check below proves each loads)
  const repo = new Set(repoSnapshotFiles(ctx.s.repoDir));
  const ghosts = (await timed(ctx, 'invariants: server snapshots', () => until(() => serverSnapshots(ctx.s), (ids) => ids.every((id) => repo.has(id)), 20_000))).filter((id) => !repo.has(id));
  invariant(ctx, ghosts.length ? `the server lists snapshots the repository does not hold: ${ghosts.map((g) => g.slice(0, 8)).join(', ')}` : null);
  for (const id of [...ctx.recorded.keys()]) if (!repo.has(id)) ctx.recorded.delete(id);
  for (const id of [...ctx.manyVerified]) if (!repo.has(id)) ctx.manyVerified.delete(id);

  // 3. restic check
  // (its result is reused while the repository's files are unchanged: a restore or a failed job writes none)
  const fp = repoFingerprint(ctx.s.repoDir);
  const reuse = fp !== null && ctx.lastCheck?.fingerprint === fp;
  const check = reuse ? ctx.lastCheck!.result : await timed(ctx, 'invariants: restic check', () => resticCheck(ctx.s.repoDir));
  ctx.checks[reuse ? 'reused' : 'run']++;
  ctx.lastCheck = { fingerprint: fp, result: check };
  if (!check.ok) {
    // damage counts as reported by an open check_failed or restore_failed alert (another alert, e.g. a failed backup, does not)
    const alerts = (await openAlerts(ctx.s)).filter((a) => a.kind === 'check_failed' || a.kind === 'restore_failed');
    const reported = alerts.length > 0;
    invariant(ctx, reported ? null : `restic check fails and the product reports nothing (no open check_failed or restore_failed alert):\n${check.output}`);
    ctx.log(`  restic check failed (${alerts.length} open alert(s)): ${check.output.slice(-400)}`);
  } else invariant(ctx, null);

  // 4. a sampled snapshot restores byte for byte
  if (o.sampleRestore && ctx.recorded.size > 0) {
    const id = ctx.rng.pick([...ctx.recorded.keys()]);
    await timed(ctx, `invariants: sampled restore${o.fullRestore ? ' (full)' : ''}`, async () => {
      const r = await restoreAndCompare(ctx, id, { full: o.fullRestore });
      const job = await waitJob(ctx.s, r.jobId, ctx.jobTimeoutMs);
      ctx.log(`  sampled ${await r.finish(job, { faulted: false, agentKilled: false })}`);
    });
    // 7. and a copy of a recorded snapshot, straight from the copy repository
    const copied = await restoreCopyAndCompare(ctx);
    if (copied) ctx.log(`  sampled ${copied}`);
  }

  // 8. the vault
  await checkVaultInvariants(ctx, o.sampleRestore);

  // 6. the corpus never changes (a backup must not touch its source), so its cached hash holds
  if (o.rehashCorpus) {
    const now = await timed(ctx, 'tree hashing', () => hashRawTree(ctx.corpus.dir));
    const diff = restoreDiff(ctx.corpus.tree, now);
    invariant(ctx, now.digest === ctx.corpus.tree.digest ? null : `the source corpus changed during the run:\n  ${diff.join('\n  ') || 'digest differs'}`);
  }

  // 5. secrets
  const argvLog = ctx.s.resticArgv();
  const inArgvLog = o.secrets.filter((s) => argvLog.includes(s)).length;
  invariant(ctx, ctx.s.secretInLogs() ? 'a secret appears in what the agent or the server wrote' : null);
  invariant(ctx, inArgvLog ? `a secret appears in restic's argv (${inArgvLog} of ${o.secrets.length} secrets)` : null);
  invariant(ctx, o.argvLeaks.size ? `a secret appears in a process argv: ${[...o.argvLeaks].join(' | ')}` : null);
  o.argvLeaks.clear();
}
