/**
 * The vault engine in the walk (issue 22, "vault where present"). The host's vault target is a
 * directory (`<base>/vault`) encrypted to an age recipient; the private key stays with the
 * driver, which plays the trusted machine. Operations: `vault_backup` of the source without the
 * corpus's big directory, `vault_prune` (keep_last), `vault_check` (existence, or every blob
 * read). The mid-job faults hit vault jobs too (kill_restic kills the job's vault process).
 * Invariant 8: every vault snapshot the server lists is committed in the storage; a recorded
 * vault snapshot disappears only after a prune ran; and with the sampled restore, a recorded
 * vault snapshot restored by the CLI with the private key reproduces its recorded tree, and the
 * key-assisted `vault check` reading every blob is clean.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LocalStorage, X25519Identity, listSnapshots } from '@restic-manager/vault';
import { ROOT, runAgentCli } from '../agent-harness.js';
import type { Api, Json } from '../agent-harness.js';
import { runSecret } from './checkpoint.js';
import type { Ctx } from './context.js';
import { countFault, ended, expectOk, hashSource, invariant, nextRestoreTarget, timed } from './context.js';
import { flip32, whileDamaged } from './damage.js';
import type { Job } from './repo.js';
import { allAlerts, startJob, until, waitJob } from './repo.js';
import { hashRawTree, restoreDiff, withoutSubtree, wrongFiles } from './tree-hash.js';
import type { RawTree } from './tree-hash.js';

const CLI = path.join(ROOT, 'packages/cli/dist/main.js');
const INDEX_PREFIX = 'index/';

/** The driver's side of the vault: the storage directory and the private key (never given to the product). */
export interface VaultSide {
  dir: string;
  secretKey: string;
}

/** The run's age identity; in a run in legs kept beside the checkpoint (runSecret). */
export function runVaultKey(dir: string | null, resuming: boolean): string {
  const fresh = (): string => X25519Identity.generate().toString();
  return dir ? runSecret(dir, 'vault-key', resuming, fresh, "the vault's snapshots are encrypted to its key") : fresh();
}

/** Gives the host its vault target (the recipient only), as an admin does in Settings → Vault target. */
export async function setVaultTarget(api: Api, hostId: string, side: VaultSide): Promise<void> {
  const recipient = X25519Identity.parse(side.secretKey).recipient.toString();
  const r = await api.req('PUT', `/api/hosts/${hostId}/vault`, { storage: { type: 'local', path: side.dir }, age_recipient: recipient });
  if (r.status !== 200) throw new Error(`set the vault target: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Whether the agent runs vault jobs: `version --json` says whether the engine is installed beside it (`vault_engine`). */
export async function agentHasVault(): Promise<{ ok: boolean; why: string }> {
  const r = await runAgentCli(['version', '--json']);
  const v = r.code === 0 ? (JSON.parse(r.out) as { vault_engine?: string; vault_engine_error?: string | null }) : null;
  return v?.vault_engine === 'available' ? { ok: true, why: '' } : { ok: false, why: `the agent has no vault engine: ${v?.vault_engine_error ?? r.err.trim()}` };
}

/** Committed snapshots in the vault storage (no key needed). */
export async function storedVaultSnapshots(side: VaultSide): Promise<string[]> {
  if (!fs.existsSync(side.dir)) return [];
  return (await listSnapshots(new LocalStorage(side.dir), INDEX_PREFIX)).filter((s) => s.committed).map((s) => s.id);
}

async function serverVaultSnapshots(ctx: Ctx): Promise<string[]> {
  const r = await ctx.s.api.req('GET', `/api/hosts/${ctx.s.hostId}/vault`);
  if (r.status !== 200) throw new Error(`GET vault: ${r.status} ${JSON.stringify(r.body)}`);
  return ((r.body.snapshots ?? []) as { id: string }[]).map((s) => s.id);
}

/** The CLI on the trusted machine, the key in its environment only. */
function cli(side: VaultSide, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, 'vault', ...args], { env: { PATH: process.env.PATH, VAULTIK_PRIVATE_KEY: side.secretKey }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

export interface VaultStarted {
  jobId: string;
  finish(job: Job, f: { faulted: boolean }): Promise<string>;
}

/** The exclude pattern of the big directory: anchored at the source root (vaultik's `/x`). */
const manyExclude = (ctx: Ctx): string => `/${path.relative(ctx.srcDir, ctx.many.dir)}`;

export async function vaultBackup(ctx: Ctx): Promise<VaultStarted> {
  const v = ctx.vault!;
  const tree = withoutSubtree(await hashSource(ctx), ctx.many.key);
  const jobId = await startJob(ctx.s, 'vault_backup', { paths: [ctx.srcDir], excludes: [manyExclude(ctx)] });
  return {
    jobId,
    async finish(job, f) {
      expectOk(ctx, job, f.faulted, 'vault_backup');
      if (job.status !== 'succeeded') {
        v.runs.other++;
        return ended('vault_backup', job);
      }
      v.runs.backups++;
      const id = typeof job.stats?.snapshot_id === 'string' ? job.stats.snapshot_id : '';
      const stored = await storedVaultSnapshots(v.side);
      invariant(ctx, id && stored.includes(id) ? null : `a succeeded vault_backup names no committed snapshot of the storage (snapshot_id ${id || 'missing'}): ${JSON.stringify(job.stats)}`);
      invariant(ctx, job.error_kind ? `a vault_backup of a readable source reported ${job.error_kind}: ${job.error ?? ''}` : null);
      if (id) v.recorded.set(id, tree);
      return `vault_backup succeeded, snapshot ${id || '?'} (${tree.files} files)`;
    },
  };
}

export async function vaultSimple(ctx: Ctx, kind: 'vault_prune' | 'vault_check', args: Record<string, unknown>): Promise<VaultStarted> {
  const v = ctx.vault!;
  const jobId = await startJob(ctx.s, kind, args);
  if (kind === 'vault_prune') v.pruned = true;
  return {
    jobId,
    async finish(job, f) {
      expectOk(ctx, job, f.faulted, `${kind} ${JSON.stringify(args)}`);
      return `${ended(kind, job)}${job.status === 'succeeded' && kind === 'vault_prune' ? ` (${String(job.stats?.snapshots_removed ?? '?')} removed)` : ''}`;
    },
  };
}

/**
 * Restores `snap` with the CLI into a fresh directory, as the trusted machine does; the restored
 * source tree (null when nothing of it came back), the directory removed afterwards.
 */
async function restoreVault(ctx: Ctx, side: VaultSide, snap: string): Promise<{ r: Awaited<ReturnType<typeof cli>>; actual: RawTree | null }> {
  const target = nextRestoreTarget(ctx);
  try {
    const r = await timed(ctx, 'vault: restore (CLI)', () => cli(side, ['restore', side.dir, '', snap, target]));
    const dir = path.join(target, ctx.srcDir);
    return { r, actual: fs.existsSync(dir) ? await timed(ctx, 'tree hashing', () => hashRawTree(dir)) : null };
  } finally {
    await timed(ctx, 'cleanup', () => fs.promises.rm(target, { recursive: true, force: true }));
  }
}

/** Invariant 8 (module comment). `sample`: also restore one recorded vault snapshot and run the key-assisted check. */
export async function checkVaultInvariants(ctx: Ctx, sample: boolean): Promise<void> {
  const v = ctx.vault;
  if (!v) return;
  const stored = new Set(await storedVaultSnapshots(v.side));
  // the server learns vault snapshots from the agent's report after each vault job: it may lag a moment
  const ghosts = (await timed(ctx, 'vault: server snapshots', () => until(() => serverVaultSnapshots(ctx), (ids) => ids.every((id) => stored.has(id)), 20_000))).filter((id) => !stored.has(id));
  invariant(ctx, ghosts.length ? `the server lists vault snapshots the storage does not hold: ${ghosts.join(', ')}` : null);
  const gone = [...v.recorded.keys()].filter((id) => !stored.has(id));
  invariant(ctx, gone.length && !v.pruned ? `recorded vault snapshots disappeared with no prune run: ${gone.join(', ')}` : null);
  for (const id of gone) v.recorded.delete(id);
  v.pruned = false;
  if (!sample || v.recorded.size === 0) return;

  const id = ctx.rng.pick([...v.recorded.keys()]);
  const what = `vault restore of ${id} by the trusted machine`;
  const { r, actual } = await restoreVault(ctx, v.side, id);
  invariant(ctx, r.code === 0 ? null : `${what} exited ${String(r.code)}: ${r.err.slice(-2000)}`);
  const diff = actual ? restoreDiff(v.recorded.get(id)!, actual) : ['nothing restored'];
  invariant(ctx, r.code === 0 && diff.length ? `${what} differs from the recorded tree:\n  ${diff.join('\n  ')}` : null);
  v.runs.restored++;
  ctx.log(`  sampled ${what} ${r.code !== 0 ? `FAILED (exit ${String(r.code)})` : diff.length ? 'DIFFERS' : 'exact'} (${v.recorded.get(id)!.files} files)`);
  const check = await timed(ctx, 'vault: check (CLI, with the key)', () => cli(v.side, ['check', v.side.dir, '']));
  invariant(ctx, check.code === 0 ? null : `the key-assisted vault check reading every blob exited ${String(check.code)}:\n${(check.out + check.err).slice(-2000)}`);
}

/** Every blob file of the vault storage. */
function vaultBlobs(dir: string): string[] {
  const root = path.join(dir, 'blobs');
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).flatMap((d) => fs.readdirSync(path.join(root, d)).map((f) => path.join(root, d, f))).sort();
}

/** Committed snapshots whose reference list (`.refs`, plaintext) names the blob. */
function snapshotsReferencing(dir: string, blobId: string): string[] {
  const index = path.join(dir, INDEX_PREFIX);
  if (!fs.existsSync(index)) return [];
  return fs.readdirSync(index).filter((f) => f.endsWith('.refs') && fs.existsSync(path.join(index, f.replace(/\.refs$/, '.age'))) && fs.readFileSync(path.join(index, f), 'utf8').includes(`blob ${blobId}\n`)).map((f) => f.replace(/\.refs$/, ''));
}

/**
 * `corrupt_vault_blob`: 32 bytes of a random blob of the vault flipped. A `vault_check` reading
 * every blob must fail (with a check_failed alert) when a committed snapshot references it; the
 * trusted machine's restore of such a snapshot must name the damaged files (exit 3) and leave no
 * file with wrong content, or be exact. Then the blob gets its bytes back.
 */
export async function corruptVaultBlob(ctx: Ctx): Promise<string> {
  const v = ctx.vault;
  if (!v) return 'no vault: skipped';
  // a blob to damage: a vault backup first when there is none yet (the last steps force every fault kind)
  if (v.recorded.size === 0) {
    const b = await vaultBackup(ctx);
    ctx.log(`  first ${await b.finish(await waitJob(ctx.s, b.jobId, ctx.jobTimeoutMs), { faulted: false })}`);
  }
  const blobs = vaultBlobs(v.side.dir);
  if (v.recorded.size === 0 || blobs.length === 0) return 'no vault snapshot to damage: skipped';
  const blob = ctx.rng.pick(blobs);
  const original = fs.readFileSync(blob);
  const { damaged, at } = flip32(ctx, original);
  const id = path.basename(blob);
  let what = `32 bytes flipped at ${at} of vault blob ${id.slice(0, 8)} (${original.length} bytes)`;
  return whileDamaged(ctx, blob, original, damaged, async () => {
    countFault(ctx, 'corrupt_vault_blob');
    const referencing = snapshotsReferencing(v.side.dir, id);
    const before = new Set((await allAlerts(ctx.s)).map((a) => String(a.id)));
    const check = await waitJob(ctx.s, await startJob(ctx.s, 'vault_check', { read_data: true }), ctx.jobTimeoutMs);
    if (referencing.length > 0) {
      invariant(ctx, check.status === 'failed' ? null : `vault_check reading every blob ended ${check.status} with a damaged referenced blob (${what})`);
      const raisedNow = (as: Json[]): boolean => as.some((a) => a.kind === 'check_failed' && (!before.has(String(a.id)) || a.resolved_at === null));
      invariant(ctx, raisedNow(await until(() => allAlerts(ctx.s), raisedNow, 15_000)) ? null : `a failed vault_check (${what}) raised no check_failed alert`);
    } else what += ' (referenced by no committed snapshot: nothing for a check to find)';
    const users = referencing.filter((s) => v.recorded.has(s));
    if (users.length === 0) return `${what}; vault_check ${check.status}; no recorded snapshot uses it`;
    const snap = ctx.rng.pick(users);
    const { r, actual } = await restoreVault(ctx, v.side, snap);
    const expected = v.recorded.get(snap)!;
    if (r.code === 0) {
      const diff = actual ? restoreDiff(expected, actual) : ['nothing restored'];
      invariant(ctx, diff.length ? `a vault restore over a damaged blob exited 0 but differs:\n  ${diff.join('\n  ')}` : null);
    } else {
      invariant(ctx, r.code === 3 && /damaged, not restored: /.test(r.err) ? null : `a vault restore over a damaged blob exited ${String(r.code)} without naming the damaged files: ${r.err.slice(-800)}`);
      const wrong = actual ? wrongFiles(expected, actual) : [];
      invariant(ctx, wrong.length ? `a vault restore over a damaged blob left files with wrong content under their names:\n  ${wrong.join('\n  ')}` : null);
    }
    return `${what}; vault_check ${check.status}; restore of ${snap} exit ${String(r.code)}${r.code === 3 ? ` (${r.err.split('\n').filter((l) => l.startsWith('damaged')).length} damaged named)` : ''}`;
  });
}
