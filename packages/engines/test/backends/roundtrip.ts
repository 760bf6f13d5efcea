import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { diffTrees, hashTree, makeCorpus } from '@restic-manager/testkit';
import { ResticEngine, materialise, type Connection, type OutputLine, type Result } from '@restic-manager/engines';
import type { RepositoryConfig } from '@restic-manager/protocol';

export function must<T>(r: Result<T>, what: string): T {
  if (!r.ok) throw new Error(`${what} failed (${r.error.kind}): ${r.error.message}\n${r.error.stderrTail.join('\n')}`);
  return r.value;
}

/** A fresh private job directory under `root` and the Connection materialised into it. */
export async function open(repo: RepositoryConfig, root: string): Promise<{ conn: Connection; dir: string }> {
  const dir = await mkdtemp(path.join(root, 'job-'));
  const conn = await materialise(repo, dir);
  return { conn: { ...conn, cacheDir: path.join(root, 'cache') }, dir };
}

/**
 * init, backup a generated tree, restore it and compare byte for byte, all through a
 * Connection made by the materialiser; every output line is checked for the secrets.
 */
export async function roundTrip(repo: RepositoryConfig, root: string, secrets: string[]): Promise<void> {
  const engine = new ResticEngine();
  const src = path.join(root, 'src');
  await rm(src, { recursive: true, force: true });
  await makeCorpus(src, { files: 12, totalBytes: 200_000, seed: 7 });
  const { conn, dir } = await open(repo, root);
  const lines: string[] = [];
  const onLine = (l: OutputLine): void => void lines.push(l.line);
  must(await engine.init(conn, { onLine }), 'init');
  const b = must(await engine.backup(conn, { paths: [src] }, { onLine }), 'backup');
  const target = path.join(root, `restore-${path.basename(dir)}`);
  must(await engine.restore(conn, { snapshot: b.snapshotId, target }, { onLine }), 'restore');
  expect(diffTrees(await hashTree(src), await hashTree(path.join(target, src)))).toEqual([]);
  expect(must(await engine.snapshots(conn, undefined, { onLine }), 'snapshots').map((s) => s.id.slice(0, b.snapshotId.length))).toEqual([b.snapshotId]);
  const all = lines.join('\n');
  for (const s of secrets) expect(all.includes(s), `a secret (${s.slice(0, 4)}…) reached the output lines`).toBe(false);
  await rm(dir, { recursive: true, force: true });
}
