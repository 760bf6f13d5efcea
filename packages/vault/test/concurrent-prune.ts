/**
 * Two hosts back up into one target five times each (content alternating, so each host's index
 * keeps knowing blobs that retention left unreferenced) while the trusted side prunes back to
 * back with keep_last 3 and grace 0. Each snapshot is restored right after it is committed
 * (unless retention already forgot it), and whatever is left restores and checks clean at the end.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { backup, check, listSnapshots, parseConfig, prune, restore, X25519Identity, type BackupResult, type Storage } from '../src/index.js';
import { writeTree } from './helpers.js';

export interface StressTarget {
  /** Config keys naming the target (s3 or local_dir). */
  target: Record<string, unknown>;
  host: () => Storage;
  trusted: Storage;
}

export async function backupsBesidePrunes(dir: string, t: StressTarget): Promise<{ snapshots: number; verified: number; prunes: number; deleted: number }> {
  const identity = X25519Identity.generate();
  const contentA = randomBytes(120_000);
  const contentB = randomBytes(120_000);
  const hosts = ['h1', 'h2'].map((name) => {
    const src = path.join(dir, name);
    writeTree(src, { 'const.txt': `constant ${name}` });
    const cfg = parseConfig({
      source_dirs: [src], age_recipient: identity.recipient.toString(), ...t.target,
      index_path: path.join(dir, `${name}.sqlite`), chunk_size: '64KiB', pack_size: '1MiB',
    });
    return { name, src, cfg, storage: t.host() };
  });
  const made: Array<{ host: string; result: BackupResult; flip: Buffer }> = [];
  const verified: string[] = [];
  let done = false;
  let prunes = 0;
  let deleted = 0;
  const pruneLoop = (async () => {
    while (!done) {
      const r = await prune({ storage: t.trusted, indexPrefix: 'index/', policy: { keep_last: 3 }, graceMs: 0 });
      prunes++;
      deleted += r.blobsDeleted;
      await new Promise((res) => setImmediate(res));
    }
  })();
  const verify = async (snapshotId: string, src: string, flip: Buffer): Promise<void> => {
    const out = path.join(dir, 'out', snapshotId);
    try {
      const res = await restore({ storage: t.trusted, identity, indexPrefix: 'index/', snapshotId, target: out });
      expect(res.damaged).toEqual([]);
      expect(readFileSync(path.join(out, src, 'flip.bin')).equals(flip)).toBe(true);
      verified.push(snapshotId);
    } catch (e) {
      // Only retention may make a snapshot disappear before it is restored.
      const still = (await listSnapshots(t.trusted, 'index/')).some((s) => s.id === snapshotId);
      if (still || !/not found/.test((e as Error).message)) throw e;
    }
  };
  try {
    await Promise.all(hosts.map(async (h) => {
      for (let i = 0; i < 5; i++) {
        const flip = i % 2 === 0 ? contentA : contentB;
        writeFileSync(path.join(h.src, 'flip.bin'), flip);
        writeFileSync(path.join(h.src, 'fresh.bin'), randomBytes(50_000));
        const result = await backup(h.cfg, { storage: h.storage });
        made.push({ host: h.name, result, flip });
        await verify(result.snapshotId, h.src, flip);
      }
    }));
  } finally {
    done = true;
    await pruneLoop;
  }
  const left = (await listSnapshots(t.trusted, 'index/')).filter((s) => s.committed);
  expect(left.length).toBeGreaterThanOrEqual(3);
  for (const s of left) {
    const m = made.find((x) => x.result.snapshotId === s.id)!;
    await verify(s.id, hosts.find((h) => h.name === m.host)!.src, m.flip);
  }
  expect((await check({ storage: t.trusted, indexPrefix: 'index/', identity })).problems).toEqual([]);
  return { snapshots: made.length, verified: new Set(verified).size, prunes, deleted };
}
