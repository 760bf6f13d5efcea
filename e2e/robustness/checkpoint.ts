/**
 * A long run in legs (`--checkpoint DIR`): after every step the driver's state is written to
 * `DIR/checkpoint.json`, and a run started again with the same DIR goes on from the step after
 * it — the same seed position, the same recorded snapshots, the same counts — against the same
 * repository, server data and agent state (started again: for the product, a restart of both).
 * A 1,000-step run takes about 3 hours on two cores, longer than a working session, whose
 * processes end with it (docs/reliability.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Ctx, Tally } from './context.js';
import type { RobustEngine } from './stack.js';
import type { RawTree } from './tree-hash.js';
import { withoutSubtree } from './tree-hash.js';

export interface Checkpoint {
  version: 1;
  seed: number;
  steps: number;
  /** The last step done (its invariants checked). */
  step: number;
  rngState: number;
  restoreSeq: number;
  hostId: string;
  proxyPort: number;
  /** The repository was on a tmpfs (it must still be mounted to go on). */
  tmpfs: boolean;
  elapsedMs: number;
  legs: number;
  corpusTree: SavedTree;
  /** Recorded snapshot trees without the corpus's entries (spliced back in: it never changes). */
  recorded: [string, SavedTree][];
  manyVerified: string[];
  restores: Ctx['restores'];
  checks: Ctx['checks'];
  /** Absent before rustic runs: restic. */
  engine?: RobustEngine;
  /** Absent in a checkpoint of a run from before copies (it goes on without them). */
  copyPolicyId?: string | null;
  copies?: [string, string][];
  copyRuns?: Ctx['copyRuns'];
  /** Absent in a checkpoint of a run without the vault. Trees saved like `recorded` (the big directory left out when loaded). */
  vault?: { recorded: [string, SavedTree][]; runs: NonNullable<Ctx['vault']>['runs'] };
  timing: [string, number][];
  tally: { steps: number; faults: [string, number][]; skipped: [string, string][]; invariants: number; violations: string[] };
}

interface SavedTree {
  entries: [string, string][];
  digest: string;
  files: number;
  lossyLinks: [string, string][];
  /** The corpus's entries are part of this tree under this prefix. */
  corpusPrefix?: string;
}

export const checkpointFile = (dir: string): string => path.join(dir, 'checkpoint.json');

function saveTree(t: RawTree, corpusPrefix?: string): SavedTree {
  const keep = corpusPrefix ? [...t.entries].filter(([k]) => !k.startsWith(`${corpusPrefix}/`)) : [...t.entries];
  return { entries: keep, digest: t.digest, files: t.files, lossyLinks: [...t.lossyLinks], ...(corpusPrefix ? { corpusPrefix } : {}) };
}

/** The saved tree with the corpus's entries back right after its directory's own, where the walk put them. */
function loadTree(t: SavedTree, corpus?: RawTree): RawTree {
  const entries = new Map<string, string>();
  const lossyLinks = new Map(t.lossyLinks);
  for (const [k, v] of t.entries) {
    entries.set(k, v);
    if (k === t.corpusPrefix && corpus) {
      for (const [ck, cv] of corpus.entries) entries.set(`${k}/${ck}`, cv);
      for (const [ck, cv] of corpus.lossyLinks) lossyLinks.set(`${k}/${ck}`, cv);
    }
  }
  return { entries, digest: t.digest, files: t.files, lossyLinks };
}

/** Writes the state after `ctx.step` (atomically: a run killed while writing keeps the previous one). */
export function saveCheckpoint(dir: string, ctx: Ctx, o: { steps: number; proxyPort: number; tmpfs: boolean; elapsedMs: number; legs: number; engine: RobustEngine }): void {
  const prefix = ctx.many.key.split('/')[0]!;
  const cp: Checkpoint = {
    version: 1, seed: ctx.seed, steps: o.steps, step: ctx.step, rngState: ctx.rng.state, restoreSeq: ctx.restoreSeq, hostId: ctx.s.hostId,
    proxyPort: o.proxyPort, tmpfs: o.tmpfs, elapsedMs: o.elapsedMs, legs: o.legs, engine: o.engine, corpusTree: saveTree(ctx.corpus.tree),
    recorded: [...ctx.recorded].map(([id, t]) => [id, saveTree(t, prefix)]), manyVerified: [...ctx.manyVerified],
    restores: ctx.restores, checks: ctx.checks, copyPolicyId: ctx.s.copyPolicyId, copies: [...ctx.copies], copyRuns: ctx.copyRuns, timing: [...ctx.timing],
    ...(ctx.vault ? { vault: { recorded: [...ctx.vault.recorded].map(([id, t]) => [id, saveTree(t, prefix)]), runs: ctx.vault.runs } } : {}),
    tally: { steps: ctx.tally.steps, faults: [...ctx.tally.faults], skipped: [...ctx.tally.skipped], invariants: ctx.tally.invariants, violations: ctx.tally.violations },
  };
  const tmp = `${checkpointFile(dir)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(cp));
  fs.renameSync(tmp, checkpointFile(dir));
}

/**
 * A secret of a run in legs, made by the first leg and kept beside the checkpoint (0600): the
 * admin password (the server's database keeps only its hash) and the vault's private key (the
 * vault's snapshots are encrypted to it). A later leg is a new process and reads it back.
 */
export function runSecret(dir: string, name: string, resuming: boolean, fresh: () => string, why: string): string {
  const f = path.join(dir, name);
  if (fs.existsSync(f)) return fs.readFileSync(f, 'utf8');
  if (resuming) throw new Error(`cannot go on from the checkpoint: ${f} is missing, and ${why}`);
  const secret = fresh();
  fs.writeFileSync(f, secret, { mode: 0o600, flag: 'wx' });
  return secret;
}

/** The admin password of a run in legs (runSecret). */
export const runAdminPassword = (dir: string, resuming: boolean, fresh: () => string): string =>
  runSecret(dir, 'admin-password', resuming, fresh, "the server's database only knows the hash of the first leg's admin password");

export function readCheckpoint(dir: string): Checkpoint | null {
  const f = checkpointFile(dir);
  if (!fs.existsSync(f)) return null;
  const cp = JSON.parse(fs.readFileSync(f, 'utf8')) as Checkpoint;
  if (cp.version !== 1) throw new Error(`${f}: checkpoint version ${String(cp.version)} is not 1`);
  return cp;
}

/** The saved state as the driver holds it: the corpus tree, the recorded trees (corpus spliced back in), the tally. */
export function restoredState(cp: Checkpoint, manyKey: string): { corpusTree: RawTree; recorded: Map<string, RawTree>; vaultRecorded: Map<string, RawTree>; tally: Tally } {
  const corpusTree = loadTree(cp.corpusTree);
  return {
    corpusTree,
    recorded: new Map(cp.recorded.map(([id, t]) => [id, loadTree(t, corpusTree)])),
    vaultRecorded: new Map((cp.vault?.recorded ?? []).map(([id, t]) => [id, { ...withoutSubtree(loadTree(t, corpusTree), manyKey), digest: t.digest }])),
    tally: { steps: cp.tally.steps, faults: new Map(cp.tally.faults), skipped: new Map(cp.tally.skipped), invariants: cp.tally.invariants, violations: cp.tally.violations },
  };
}
