import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { X25519Identity } from '../src/age/index.js';
import { parseConfig, type VaultConfig } from '../src/config.js';

/** A config for a local-directory target under `root`. */
export function localConfig(root: string, sources: string[], extra: Record<string, unknown> = {}): { cfg: VaultConfig; identity: X25519Identity; repo: string } {
  const identity = X25519Identity.generate();
  const repo = path.join(root, 'repo');
  mkdirSync(repo, { recursive: true });
  const cfg = parseConfig({
    source_dirs: sources,
    age_recipient: identity.recipient.toString(),
    local_dir: repo,
    index_path: path.join(root, 'state', 'index.sqlite'),
    chunk_size: '64KiB',
    pack_size: '1MiB',
    ...extra,
  });
  return { cfg, identity, repo };
}

export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

/** Flips bits `mask` of byte `i` of `b` in place. */
export function flip(b: Buffer, i: number, mask = 1): void {
  b.writeUInt8(b.readUInt8(i) ^ mask, i);
}
