/**
 * The two views the invariants compare: what the server says (jobs, snapshots, alerts, through
 * its REST API) and what the repository holds (restic run directly, `--no-lock`, so a check never
 * waits on or disturbs the product's own locks).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Json } from '../agent-harness.js';
import { eventually } from '../agent-harness.js';
import type { RobustStack } from './stack.js';
import { REPO_PASSWORD } from './stack.js';

const run = promisify(execFile);

/** Network errors on a GET that succeeded on the one retry (kept for the report, never hidden). */
export const retriedGets: string[] = [];

/** A GET through the admin session, retried once on a network error (a keep-alive socket the server closed as the request went out). */
async function get<T = Json>(s: RobustStack, p: string): Promise<{ status: number; body: T }> {
  try {
    return await s.api.req<T>('GET', p);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? String(err);
    const r = await s.api.req<T>('GET', p);
    retriedGets.push(`GET ${p.split('?')[0]}: ${cause}`);
    return r;
  }
}
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

export interface Job {
  id: string;
  kind: string;
  status: string;
  error: string | null;
  error_kind: string | null;
  stats: Record<string, unknown> | null;
}

/**
 * A POST is not retried (it could run a job twice), so a cheap GET goes first: after the driver's
 * synchronous tree hashing blocked the event loop, the pooled keep-alive socket may be one the
 * server has just closed, and the GET (retried once) takes that hit instead.
 */
async function freshSocket(s: RobustStack): Promise<void> {
  await get(s, `/api/hosts/${s.hostId}`);
}

export async function startJob(s: RobustStack, kind: string, args: Record<string, unknown> = {}): Promise<string> {
  await freshSocket(s);
  const r = await s.api.req('POST', `/api/hosts/${s.hostId}/jobs`, { kind, args });
  if (r.status !== 202) throw new Error(`run ${kind}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.job.id as string;
}

export async function startRestore(s: RobustStack, snapshotId: string, target: string, exclude: string[] = []): Promise<string> {
  await freshSocket(s);
  const r = await s.api.req('POST', `/api/hosts/${s.hostId}/restore`, { snapshot_id: snapshotId, restore_to: 'directory', target, exclude });
  if (r.status !== 202) throw new Error(`restore: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.job.id as string;
}

export async function getJob(s: RobustStack, id: string): Promise<Job> {
  const r = await get<Job>(s, `/api/jobs/${id}`);
  if (r.status !== 200) throw new Error(`job ${id}: ${r.status}`);
  return r.body;
}

/** Waits for a terminal status; the server may be away meanwhile (a fault), so errors are retried. */
export function waitJob(s: RobustStack, id: string, timeoutMs: number): Promise<Job> {
  return eventually(async () => {
    const j = await getJob(s, id);
    return TERMINAL.includes(j.status) ? j : null;
  }, timeoutMs, `job ${id} to finish`);
}

export async function jobLog(s: RobustStack, id: string): Promise<string> {
  const r = await get(s, `/api/jobs/${id}/logs?limit=5000`);
  return ((r.body?.items ?? []) as { payload: string }[]).map((l) => l.payload).join('\n');
}

/** Jobs of the host that are not finished. */
export async function unfinishedJobs(s: RobustStack): Promise<Job[]> {
  const out: Job[] = [];
  for (const status of ['queued', 'running']) {
    const r = await get(s, `/api/jobs?host_id=${s.hostId}&status=${status}&limit=500`);
    if (r.status !== 200) throw new Error(`jobs: ${r.status} ${JSON.stringify(r.body)}`);
    out.push(...(r.body.items as Job[]));
  }
  return out;
}

export async function serverSnapshots(s: RobustStack): Promise<string[]> {
  const out: string[] = [];
  for (let offset = 0; ; offset += 500) {
    const r = await get(s, `/api/hosts/${s.hostId}/snapshots?limit=500&offset=${offset}`);
    if (r.status !== 200) throw new Error(`snapshots: ${r.status} ${JSON.stringify(r.body)}`);
    const items = r.body.items as { id: string }[];
    out.push(...items.map((x) => x.id));
    if (items.length < 500) return out;
  }
}

/**
 * Polls `fn` until `ok` holds or `timeoutMs` passes, and returns the last value either way (the
 * caller judges it). Errors are not swallowed: an invariant that cannot be evaluated fails loudly.
 */
export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function openAlerts(s: RobustStack): Promise<Json[]> {
  const r = await get(s, `/api/alerts?host_id=${s.hostId}&open=true&limit=500`);
  if (r.status !== 200) throw new Error(`alerts: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.items as Json[];
}

export async function allAlerts(s: RobustStack): Promise<Json[]> {
  const r = await get(s, `/api/alerts?host_id=${s.hostId}&limit=500`);
  if (r.status !== 200) throw new Error(`alerts: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.items as Json[];
}

const env = (password = REPO_PASSWORD): NodeJS.ProcessEnv => ({ ...process.env, RESTIC_PASSWORD: password });

/**
 * The snapshot ids the repository holds, read from its `snapshots/` directory (a snapshot's id
 * is its file's name), without a restic run: the invariants' `restic check`, run every step,
 * then proves each of them loads (a file restic cannot read fails the check).
 */
export function repoSnapshotFiles(repo: string): string[] {
  return fs.readdirSync(path.join(repo, 'snapshots')).filter((f) => /^[0-9a-f]{64}$/.test(f));
}

/**
 * What the repository holds, apart from its locks: every file's path, size and mtime (ns). Equal
 * fingerprints mean equal bytes to `restic check --no-lock` (every write, by restic or by a fault,
 * moves a file's mtime), so the invariants reuse the last check's result instead of running it
 * again. File times tick coarsely (a few ms), so a repository with a file written in the last
 * `quietMs` has no fingerprint (null: check it): a later write could not be told apart.
 */
export function repoFingerprint(repo: string, quietMs = 2000): string | null {
  const out: string[] = [];
  const recent = (BigInt(Date.now()) - BigInt(quietMs)) * 1_000_000n;
  let fresh = false;
  const walk = (dir: string, rel: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === 'locks') continue;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else {
        const st = fs.statSync(path.join(dir, e.name), { bigint: true });
        if (st.mtimeNs > recent) fresh = true;
        out.push(`${r}\0${st.size}\0${st.mtimeNs}\0${st.ino}`);
      }
    }
  };
  walk(repo, '');
  return fresh ? null : out.sort().join('\n');
}

/** `restic check` (structure only, or with `--read-data`): ok, or restic's output. */
export async function resticCheck(repo: string, readData = false, password = REPO_PASSWORD): Promise<{ ok: boolean; output: string }> {
  try {
    await run('restic', ['-r', repo, '--no-cache', '--no-lock', 'check', ...(readData ? ['--read-data'] : [])], { env: env(password), maxBuffer: 64 << 20 });
    return { ok: true, output: '' };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stderr ?? ''}${e.stdout ?? ''}`.slice(-3000) };
  }
}

/**
 * True when `restic diff a b` lists no change at or below `dir` (absolute): the two snapshots
 * hold the same content and metadata there (restic compares content blob ids).
 */
export async function sameBelow(repo: string, a: string, b: string, dir: string): Promise<boolean> {
  const r = await run('restic', ['-r', repo, '--no-cache', '--no-lock', 'diff', a, b], { env: env(), maxBuffer: 256 << 20 });
  return !r.stdout.split('\n').some((l) => /^[-+MUT?]\s/.test(l) && (l.includes(`${dir}/`) || l.endsWith(` ${dir}`)));
}

export interface RepoSnapshot {
  id: string;
  tree: string;
  /** Set by `restic copy`: the snapshot it is a copy of. */
  original?: string;
}

/** `restic snapshots --json` run directly against a repository (no lock: it only reads). */
export async function resticSnapshots(repo: string, password = REPO_PASSWORD): Promise<RepoSnapshot[]> {
  const r = await run('restic', ['-r', repo, '--no-cache', '--no-lock', 'snapshots', '--json'], { env: env(password), maxBuffer: 64 << 20 });
  return JSON.parse(r.stdout) as RepoSnapshot[];
}

/** `restic restore` run directly (a user's way back when the server is gone); throws with restic's output on failure. */
export async function resticRestore(repo: string, password: string, snapshot: string, target: string, exclude: string[]): Promise<void> {
  await run('restic', ['-r', repo, '--no-cache', '--no-lock', 'restore', snapshot, '--target', target, ...exclude.flatMap((e) => ['--exclude', e])], { env: env(password), maxBuffer: 64 << 20 });
}
