/* The driver's state shared by operations, faults and invariants: the stack, the seeded RNG, the model of what was backed up, and the tallies. */
import path from 'node:path';
import type { Job } from './repo.js';
import type { Rng } from './rng.js';
import type { RobustStack } from './stack.js';
import type { RawTree } from './tree-hash.js';
import { hashRawTree } from './tree-hash.js';
import type { VaultSide } from './vault.js';

export interface Tally {
  steps: number;
  faults: Map<string, number>;
  /** Fault kinds not injected in this run, with the reason. */
  skipped: Map<string, string>;
  invariants: number;
  violations: string[];
}

export interface Ctx {
  s: RobustStack;
  rng: Rng;
  seed: number;
  step: number;
  srcDir: string;
  churnDir: string;
  /** Restores go to `<restoreRoot>/<5 digits>`; the corpus sizes its near-PATH_MAX path for it. */
  restoreRoot: string;
  restoreSeq: number;
  /** Snapshot id -> the source tree it was taken of (recorded when the backup succeeded). */
  recorded: Map<string, RawTree>;
  /** The hostile corpus (`<srcDir>/hostile`), hashed once: it never changes (checked every `rehashEvery` steps). */
  corpus: { dir: string; tree: RawTree };
  /** The corpus's big directory: absolute, and as a key of a RawTree of srcDir. */
  many: { dir: string; key: string };
  /**
   * Snapshots whose big directory is known to restore byte for byte: restored in full and exact,
   * or the same there as one that was (`restic diff`). Their later restores may leave it out.
   */
  manyVerified: Set<string>;
  /** The copy repository's snapshots that copies of recorded snapshots made: copy's id -> the original's id. */
  copies: Map<string, string>;
  /** Copies by outcome, and restores of a copy compared with its original's recorded tree. */
  copyRuns: { succeeded: number; other: number; restored: number };
  /**
   * The vault (absent when the agent has no vault engine, or in a rustic run): the driver's side
   * (storage directory, private key), vault snapshot id -> the tree it was taken of (without the
   * big directory), whether a prune ran since the last invariant check, and the runs by outcome.
   */
  vault?: { side: VaultSide; recorded: Map<string, RawTree>; pruned: boolean; runs: { backups: number; other: number; restored: number } };
  /** Restores by form: everything, or all but the verified big directory. */
  restores: { full: number; withoutMany: number };
  /** The invariants' last `restic check`: the repository's fingerprint then, and the result. */
  lastCheck?: { fingerprint: string | null; result: { ok: boolean; output: string } };
  /** `restic check` runs of the invariants, and results reused on an unchanged repository. */
  checks: { run: number; reused: number };
  /**
   * With a checkpoint: where a damaged pack's original bytes wait until the fault is over
   * (`<file>` names the pack, `<file>.bin` holds its bytes), so a run killed meanwhile puts them
   * back before its next leg.
   */
  packRepairFile?: string;
  /** Milliseconds spent per phase (printed at the end: where a step's time goes). */
  timing: Map<string, number>;
  /** Job timeouts: how long a job may take before it counts as stuck. */
  jobTimeoutMs: number;
  tally: Tally;
  log(line: string): void;
}

/** Records a violation with what to replay. */
export function violation(ctx: Ctx, what: string): void {
  const line = `VIOLATION at seed=${ctx.seed} step=${ctx.step}: ${what} (replay: npm run test:robustness -- --seed ${ctx.seed} --steps ${ctx.step})`;
  ctx.tally.violations.push(line);
  ctx.log(line);
}

/** Counts one invariant check; records a violation when `problem` is non-null. */
export function invariant(ctx: Ctx, problem: string | null): void {
  ctx.tally.invariants++;
  if (problem) violation(ctx, problem);
}

export function countFault(ctx: Ctx, kind: string): void {
  ctx.tally.faults.set(kind, (ctx.tally.faults.get(kind) ?? 0) + 1);
}

export function nextRestoreTarget(ctx: Ctx): string {
  ctx.restoreSeq++;
  return `${ctx.restoreRoot}/${String(ctx.restoreSeq).padStart(5, '0')}`;
}

/** Runs `fn`, adding its wall time to `phase`. */
export async function timed<T>(ctx: Ctx, phase: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    ctx.timing.set(phase, (ctx.timing.get(phase) ?? 0) + Date.now() - t0);
  }
}

/** A job left alone (no fault) must succeed. */
export function expectOk(ctx: Ctx, job: Job, faulted: boolean, what: string): void {
  if (!faulted) invariant(ctx, job.status === 'succeeded' ? null : `${what} without a fault ended ${job.status}: ${job.error_kind ?? ''} ${job.error ?? ''}`);
}

/** `<what> <status> (<error kind>)`: how a job ended, for the step's line. */
export const ended = (what: string, job: Job): string => `${what} ${job.status}${job.error_kind ? ` (${job.error_kind})` : ''}`;

/** The source tree as a backup now takes it: the churn hashed, the unchanging corpus's hash spliced in. */
export function hashSource(ctx: Ctx): Promise<RawTree> {
  return timed(ctx, 'tree hashing', () => hashRawTree(ctx.srcDir, new Map([[path.basename(ctx.corpus.dir), ctx.corpus.tree]])));
}
