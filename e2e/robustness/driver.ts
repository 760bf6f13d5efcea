/**
 * The robustness driver (issue 22): a seeded random walk of operations and faults against the
 * real stack, with the invariants checked after every step. Ends with one line
 * `robustness: seed=N steps=N faults=N invariants=N violations=N`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempDir } from '@restic-manager/testkit';
import type { Ctx, Tally } from './context.js';
import { invariant, timed, violation } from './context.js';
import { MID_JOB_FAULTS, injectMidJob } from './faults.js';
import type { Injected, MidJobFault } from './faults.js';
import { listenCorpusSocket, makeHostileCorpus } from './hostile-corpus.js';
import { readCheckpoint, restoredState, runAdminPassword, saveCheckpoint } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { checkInvariants } from './invariants.js';
import { startOp } from './ops.js';
import type { OpName } from './ops.js';
import { argvSampler } from './procs.js';
import { REPO_FAULTS, REPO_FAULT_WEIGHTS, injectRepoFault, repairLeftPack } from './repo-faults.js';
import type { RepoFault } from './repo-faults.js';
import { retriedGets, waitJob } from './repo.js';
import { Rng } from './rng.js';
import { hashRawTree } from './tree-hash.js';
import { COPY_PASSWORD, REPO_PASSWORD, freshAdminPassword, startRobustStack } from './stack.js';
import type { RobustEngine } from './stack.js';
import { agentHasVault, runVaultKey, setVaultTarget } from './vault.js';
import type { VaultSide } from './vault.js';

export interface RobustnessOptions {
  seed: number;
  steps: number;
  /** Entries of the corpus's big directory (100,000 in the full run). */
  manyEntries: number;
  /** A sampled restore every this many steps. */
  sampleEvery: number;
  /** Every this many sampled restores, one restores in full even when its big directory is known good. */
  fullEvery: number;
  /** The corpus is hashed again every this many steps (it must never change). */
  rehashEvery: number;
  /** Chance per step of a repository fault, and of a mid-job fault on an operation. */
  repoFaultChance: number;
  midJobFaultChance: number;
  /** The engine of the host's repository (restic by default; rustic runs the same operations but copies). */
  engine?: RobustEngine;
  /** Fault kinds left out of this run (reported as skipped with the reason). */
  exclude: Map<string, string>;
  /** How long one job may take before the step counts as stuck. */
  jobTimeoutMs: number;
  /** While this file exists the run waits between steps, everything settled (e.g. while CI needs the machine). */
  pauseFile?: string;
  /**
   * The run's directory, kept with a checkpoint after every step (checkpoint.ts): a run stopped
   * (killed, or the session over) goes on from there when started again with the same directory.
   */
  checkpointDir?: string;
  /** With checkpointDir: stop after this step as a killed run would, leaving the checkpoint (the legs' self-test). */
  stopAfter?: number;
  log(line: string): void;
}

export interface RobustnessResult {
  tally: Tally;
  line: string;
  notes: string[];
  /** Stopped before the last step (stopAfter), its checkpoint left to go on from. */
  stopped: boolean;
  /** Legs the run took (1 without a checkpoint). */
  legs: number;
  /** The vault's runs (absent without a vault). */
  vault?: NonNullable<Ctx['vault']>['runs'];
}

// (without a vault, its operations fall back to a backup)
const OPS: Record<OpName, number> = { backup: 30, restore: 15, forget: 10, prune: 8, check: 10, snapshots: 7, copy: 6, vault_backup: 8, vault_prune: 3, vault_check: 3 };

export function summaryLine(seed: number, t: Tally): string {
  const faults = [...t.faults.values()].reduce((a, b) => a + b, 0);
  return `robustness: seed=${seed} steps=${t.steps} faults=${faults} invariants=${t.invariants} violations=${t.violations.length}`;
}

/** Where the time went so far, largest phase first. */
function phaseTimes(ctx: Ctx): string {
  return [...ctx.timing].sort(([, a], [, b]) => b - a).map(([k, ms]) => `${k} ${Math.round(ms / 1000)} s`).join(', ');
}

/** An error with its cause (fetch failures keep the socket error there). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause ? `${err.message} (${cause instanceof Error ? cause.message : String(cause)})` : err.message;
}

/**
 * Waits between steps while `file` exists (polled every 2 s); the time paused counts in no phase.
 * A pause may outlast the server's session idle timeout (it did: 47 min, and every later request
 * of the driver was refused 401), so the driver signs in again before it goes on.
 */
async function waitWhilePaused(ctx: Ctx, file: string | undefined, log: (l: string) => void): Promise<void> {
  if (!file || !fs.existsSync(file)) return;
  const t0 = Date.now();
  log(`paused before step ${ctx.step}: remove ${file} to go on`);
  while (fs.existsSync(file)) await new Promise((r) => setTimeout(r, 2000));
  await ctx.s.signIn();
  log(`resumed after ${Math.round((Date.now() - t0) / 1000)} s paused (signed in again)`);
}

async function ensureAlive(ctx: Ctx): Promise<void> {
  const { s } = ctx;
  if (s.server && s.server.child.exitCode !== null && s.server.child.signalCode === null) {
    violation(ctx, `the server exited on its own (code ${String(s.server.child.exitCode)})`);
    await s.startServer();
  }
  if (s.agent && s.agent.child.exitCode !== null && s.agent.child.signalCode === null) {
    violation(ctx, `the agent exited on its own (code ${String(s.agent.child.exitCode)})`);
    await s.startAgent();
  }
}

async function oneStep(ctx: Ctx, o: RobustnessOptions): Promise<string> {
  const { rng } = ctx;
  // Every fault kind at least once: the last steps inject the kinds not seen yet (a short run
  // still covers them all).
  // (skipped holds the excluded kinds too)
  const repoFaults = REPO_FAULTS.filter((k) => !ctx.tally.skipped.has(k));
  const missing = [...repoFaults, ...MID_JOB_FAULTS].filter((k) => !ctx.tally.faults.has(k) && !ctx.tally.skipped.has(k));
  const forced = ctx.recorded.size > 0 && o.steps - ctx.step < missing.length ? missing[0] : undefined;
  if (forced !== undefined ? (REPO_FAULTS as readonly string[]).includes(forced) : ctx.recorded.size > 0 && rng.chance(o.repoFaultChance)) {
    const kind: RepoFault = (forced as RepoFault | undefined) ?? rng.weighted(Object.fromEntries(repoFaults.map((k) => [k, REPO_FAULT_WEIGHTS[k]])) as Record<RepoFault, number>);
    return `${kind}: ${await timed(ctx, `fault ${kind}`, () => injectRepoFault(ctx, kind))}`;
  }
  let op = forced ? 'backup' : rng.weighted(OPS);
  let started = await startOp(ctx, op);
  if (!started) {
    op = 'backup';
    started = (await startOp(ctx, op))!;
  }
  let fault: Injected | null = null;
  const t0 = Date.now();
  if (forced !== undefined || rng.chance(o.midJobFaultChance)) {
    const kind: MidJobFault = (forced as MidJobFault | undefined) ?? rng.pick(MID_JOB_FAULTS);
    fault = await injectMidJob(ctx, kind, started.jobId);
    fault.note = `${kind}: ${fault.note}`;
  }
  const job = await waitJob(ctx.s, started.jobId, ctx.jobTimeoutMs);
  ctx.timing.set(`${op} job${fault ? ' (with a fault)' : ''}`, (ctx.timing.get(`${op} job${fault ? ' (with a fault)' : ''}`) ?? 0) + Date.now() - t0);
  const outcome = await started.finish(job, { faulted: fault?.injected ?? false, agentKilled: fault?.agentKilled ?? false });
  // nobody cancelled it: a job whose restic was killed from outside fails and names the signal
  if (fault?.killedJobRun) invariant(ctx, job.status !== 'cancelled' ? null : `a ${op} whose restic was killed -9 from outside is reported cancelled: ${job.error ?? ''}`);
  return `${op}${fault ? ` + ${fault.note}` : ''} -> ${outcome}`;
}

/** The run's directory: a fresh temporary one, or the checkpoint directory (with the checkpoint to go on from, if any). */
async function runDir(o: RobustnessOptions): Promise<{ base: string; cp: Checkpoint | null; cleanup: () => Promise<void> }> {
  if (!o.checkpointDir) {
    const tmp = await tempDir('rm-robust-');
    return { base: tmp.path, cp: null, cleanup: () => tmp.cleanup() };
  }
  const base = path.resolve(o.checkpointDir);
  fs.mkdirSync(base, { recursive: true });
  const cp = readCheckpoint(base);
  if (!cp && fs.readdirSync(base).length > 0) throw new Error(`${base} holds files but no checkpoint: give an empty or new directory`);
  if (cp && (cp.seed !== o.seed || cp.steps !== o.steps)) throw new Error(`${base} holds a run of seed ${cp.seed}, ${cp.steps} steps (at step ${cp.step}): go on with --seed ${cp.seed} --steps ${cp.steps}`);
  return { base, cp, cleanup: async () => fs.rmSync(base, { recursive: true, force: true }) };
}

export async function runRobustness(o: RobustnessOptions): Promise<RobustnessResult> {
  const { base, cp, cleanup } = await runDir(o);
  const manyKey = 'hostile/many';
  const restored = cp ? restoredState(cp, manyKey) : null;
  const tally: Tally = restored?.tally ?? { steps: 0, faults: new Map(), skipped: new Map(), invariants: 0, violations: [] };
  const rng = new Rng(o.seed);
  if (cp) rng.state = cp.rngState;
  const restoreRoot = path.join(base, 'r');
  const srcDir = path.join(base, 'src');
  const corpusDir = path.join(srcDir, 'hostile');
  // a later leg starts with no restore target left over: a restore the stopped leg was writing would be compared again
  if (cp) fs.rmSync(restoreRoot, { recursive: true, force: true });
  fs.mkdirSync(restoreRoot, { recursive: true });
  const started = Date.now() - (cp?.elapsedMs ?? 0);
  const legs = (cp?.legs ?? 0) + 1;
  // The corpus (with its big directory) is made and hashed once, before the stack starts: the
  // synchronous writes would otherwise stall the in-process proxy the agent connects through.
  // A later leg keeps it (its socket listens again) and its hash.
  const corpus = cp
    ? await (async () => {
      const sock = await listenCorpusSocket(corpusDir);
      return { made: [`the corpus of leg 1 (this is leg ${legs}, from step ${cp.step + 1})`], notes: [], close: () => new Promise<void>((r) => sock.close(() => r())) };
    })()
    : await makeHostileCorpus(corpusDir, rng, { manyEntries: o.manyEntries, restoreOverhead: restoreRoot.length + 6 });
  const corpusTree = restored?.corpusTree ?? hashRawTree(corpusDir);
  const corpusMs = Date.now() - started;
  const packRepairFile = o.checkpointDir ? path.join(base, 'pack-repair') : undefined;
  const repaired = packRepairFile ? repairLeftPack(packRepairFile) : null;
  const engine: RobustEngine = cp?.engine ?? o.engine ?? 'restic';
  if (cp && o.engine && o.engine !== engine) throw new Error(`${base} holds a run on ${engine}: go on without --engine or with --engine ${engine}`);
  const adminPassword = o.checkpointDir ? runAdminPassword(base, cp !== null, freshAdminPassword) : freshAdminPassword();
  // the vault where the agent has it, beside restic (a rustic run is about rustic); a leg goes on with what the first had
  const hasVault = engine !== 'restic' ? { ok: false, why: `a ${engine} run has no vault` } : cp ? (cp.vault ? { ok: true, why: '' } : { ok: false, why: 'a run from before the vault was in the walk' }) : await agentHasVault();
  const vaultSide: VaultSide | null = hasVault.ok ? { dir: path.join(base, 'vault'), secretKey: runVaultKey(o.checkpointDir ? base : null, cp !== null) } : null;
  const secrets = [REPO_PASSWORD, COPY_PASSWORD, adminPassword, ...(vaultSide ? [vaultSide.secretKey] : [])];
  let s;
  try {
    s = await startRobustStack(base, { tmpfsBytes: 1 << 30, adminPassword, secrets, engine, ...(cp ? { resume: { hostId: cp.hostId, proxyPort: cp.proxyPort, tmpfs: cp.tmpfs, copyPolicyId: cp.copyPolicyId ?? null } } : {}) });
  } catch (err) {
    await corpus.close();
    if (!o.checkpointDir) await cleanup();
    throw err;
  }
  if (vaultSide && !cp) await setVaultTarget(s.api, s.hostId, vaultSide);
  const notes: string[] = [s.tmpfsNote, ...(hasVault.ok ? [] : [`no vault operations: ${hasVault.why}`]), ...corpus.notes, ...(repaired ? [`the last leg was stopped during a pack fault: ${path.basename(repaired)} has its original bytes back`] : [])];
  if (s.tmpfsBytes === null) tally.skipped.set('disk_full', s.tmpfsNote);
  for (const [k, why] of o.exclude) tally.skipped.set(k, why);
  // rustic takes no locks (two-phase prune instead): a held restic lock is no fault for it
  if (engine === 'rustic') tally.skipped.set('held_lock', 'rustic takes no repository locks, so a held lock does not stop its prune');
  if (!vaultSide) tally.skipped.set('corrupt_vault_blob', `no vault in this run: ${hasVault.why}`);
  const ctx: Ctx = {
    s, rng, seed: o.seed, step: cp?.step ?? 0, srcDir, churnDir: path.join(srcDir, 'churn'), restoreRoot, restoreSeq: cp?.restoreSeq ?? 0,
    recorded: restored?.recorded ?? new Map(), corpus: { dir: corpusDir, tree: corpusTree }, many: { dir: path.join(corpusDir, 'many'), key: manyKey },
    manyVerified: new Set(cp?.manyVerified ?? []), restores: cp?.restores ?? { full: 0, withoutMany: 0 }, checks: cp?.checks ?? { run: 0, reused: 0 },
    copies: new Map(cp?.copies ?? []), copyRuns: cp?.copyRuns ?? { succeeded: 0, other: 0, restored: 0 },
    ...(vaultSide ? { vault: { side: vaultSide, recorded: restored?.vaultRecorded ?? new Map(), pruned: false, runs: cp?.vault?.runs ?? { backups: 0, other: 0, restored: 0 } } } : {}),
    timing: new Map(cp?.timing ?? [['corpus (made and hashed once)', corpusMs]]),
    jobTimeoutMs: o.jobTimeoutMs, tally, log: o.log, ...(packRepairFile ? { packRepairFile } : {}),
  };
  let stopped = false;
  const sampler = argvSampler(secrets, 100);
  try {
    o.log(cp
      ? `robustness: seed=${o.seed}, ${o.steps} steps; leg ${legs}, from step ${cp.step + 1} (checkpoint in ${base}; server and agent started again)`
      : `robustness: seed=${o.seed}, ${o.steps} steps; corpus: ${corpus.made.join('; ')} (made and hashed in ${corpusMs} ms)`);
    for (const n of notes) o.log(`note: ${n}`);
    try {
      for (let step = ctx.step + 1; step <= o.steps; step++) {
        ctx.step = step;
        await waitWhilePaused(ctx, o.pauseFile, o.log);
        const t0 = Date.now();
        try {
          await ensureAlive(ctx);
          const what = await oneStep(ctx, o);
          o.log(`step ${step}/${o.steps} (${Date.now() - t0} ms): ${what}`);
        } catch (err) {
          violation(ctx, `step failed: ${describe(err)}`);
        }
        try {
          await ensureAlive(ctx);
          const sample = step % o.sampleEvery === 0;
          await checkInvariants(ctx, {
            secrets, argvLeaks: sampler.leaks, settleMs: 60_000, sampleRestore: sample,
            fullRestore: sample && (step / o.sampleEvery) % o.fullEvery === 0, rehashCorpus: step % o.rehashEvery === 0 || step === o.steps,
          });
        } catch (err) {
          violation(ctx, `invariant check failed to run: ${describe(err)}`);
        }
        tally.steps = step;
        if (o.checkpointDir) saveCheckpoint(base, ctx, { steps: o.steps, proxyPort: s.proxy.port, tmpfs: s.tmpfsBytes !== null, elapsedMs: Date.now() - started, legs, engine });
        if (o.stopAfter === step && step < o.steps) {
          stopped = true;
          o.log(`stopped after step ${step} (checkpoint in ${base}): run again with the same --checkpoint to go on`);
          break;
        }
        // a long run that is stopped early still leaves its figures
        if (step % 25 === 0 && step < o.steps) {
          o.log(`progress: ${summaryLine(o.seed, tally)}; faults by kind: ${[...tally.faults].map(([k, n]) => `${k}=${n}`).join(' ') || 'none'}; ${Math.round((Date.now() - started) / 1000)} s`);
          o.log(`  time by phase so far: ${phaseTimes(ctx)}`);
        }
      }
    } finally {
      await corpus.close();
    }
  } finally {
    sampler.stop();
    // A run that did not get through its steps (stopped, or ended by an error) keeps its checkpoint directory.
    const complete = tally.steps === o.steps;
    if (o.checkpointDir && !complete) await s.abandon().catch((err: unknown) => o.log(`abandon: ${String(err)}`));
    else await s.close().catch((err: unknown) => o.log(`close: ${String(err)}`));
    if (tally.violations.length > 0) {
      const keep = path.join(os.tmpdir(), `rm-robustness-logs-seed${o.seed}-${Date.now()}`);
      fs.mkdirSync(keep);
      for (const f of ['agent.log', 'server.log', 'restic-argv.log']) if (fs.existsSync(path.join(base, f))) fs.copyFileSync(path.join(base, f), path.join(keep, f));
      o.log(`agent, server and restic-argv logs kept in ${keep}`);
    }
    if (!o.checkpointDir || complete) await cleanup();
  }
  const kinds = [...tally.faults].map(([k, n]) => `${k}=${n}`).join(' ');
  o.log(`faults by kind: ${kinds || 'none'}; argv samples: ${sampler.samples()}; ${Math.round((Date.now() - started) / 1000)} s`);
  o.log(`restic check (invariant): ${ctx.checks.run} run, ${ctx.checks.reused} reused on an unchanged repository`);
  o.log(`copies: ${ctx.copyRuns.succeeded} succeeded, ${ctx.copyRuns.other} failed or cancelled (with a fault); ${ctx.copyRuns.restored} restored from the copy repository and compared${s.copyPolicyId ? '' : ' (none: a run from before copies)'}`);
  if (ctx.vault) o.log(`vault: ${ctx.vault.runs.backups} backups succeeded, ${ctx.vault.runs.other} vault jobs failed or cancelled (with a fault); ${ctx.vault.runs.restored} vault snapshots restored by the CLI and compared`);
  o.log(`restores: ${ctx.restores.full} in full, ${ctx.restores.withoutMany} without the big directory (known good); snapshots whose big directory is verified: ${ctx.manyVerified.size}`);
  o.log(`time by phase: ${phaseTimes(ctx)}`);
  for (const [k, why] of tally.skipped) o.log(`skipped fault kind ${k}: ${why}`);
  if (retriedGets.length) o.log(`GETs retried once after a network error: ${retriedGets.length} (${[...new Set(retriedGets)].slice(0, 5).join('; ')})`);
  if (legs > 1) o.log(`legs: ${legs} (server and agent started again between legs; time and counts are the whole run's)`);
  return { tally, line: summaryLine(o.seed, tally), notes, stopped, legs, ...(ctx.vault ? { vault: ctx.vault.runs } : {}) };
}
