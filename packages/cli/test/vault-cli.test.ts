import { spawn } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffTrees, hashTree, makeCorpus, tempDir, type TempDir } from '@restic-manager/testkit';
import { Chunker, chunkerParams, LocalStorage, loadSnapshot, X25519Identity } from '@restic-manager/vault';
import { CLI, haveCli, vault } from './vault-cli-helpers.js';
import { flip } from '../../vault/test/helpers.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('vault-cli-');
});
afterEach(() => dir.cleanup());

function setup(overrides: Record<string, string> = {}): { cfgFile: string; repo: string; src: string; key: string } {
  const id = X25519Identity.generate();
  const repo = path.join(dir.path, 'repo');
  const src = path.join(dir.path, 'src');
  const cfgFile = path.join(dir.path, 'vault.yaml');
  const keys: Record<string, string> = { chunk_size: '256KiB', pack_size: '1MiB', ...overrides };
  writeFileSync(
    cfgFile,
    `source_dirs:\n  - ${src}\nexclude:\n  - '*.log'\nage_recipient: ${id.recipient.toString()}\nlocal_dir: ${repo}\nindex_path: ${path.join(dir.path, 'state', 'index.sqlite')}\n${Object.entries(keys)
      .map(([k, v]) => `${k}: ${v}\n`)
      .join('')}`,
  );
  return { cfgFile, repo, src, key: id.toString() };
}

function files(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

function snapshotsOf(repo: string): string[] {
  const r = vault(['snapshots', '--json', repo, '']);
  return (JSON.parse(r.stdout) as Array<{ id: string }>).map((s) => s.id);
}

/**
 * `n` bytes of noise that 1 MiB chunking keeps as one chunk: an AES-CTR keystream from a fixed key,
 * the first counter start whose stream has no cut point before `n` (the gear table is fixed, so this
 * is the same data on every run; random bytes may hold a cut between the 256 KiB minimum and `n`).
 */
function oneChunkOfNoise(n: number, avg: number): Buffer {
  const chunker = new Chunker(chunkerParams(avg));
  for (let i = 0; i < 1000; i++) {
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(i, 0);
    const data = createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), iv).update(Buffer.alloc(n));
    if (chunker.cut(data, 0, n) === n) return data;
  }
  throw new Error(`no stream of ${n} bytes is one chunk at average ${avg}`);
}

describe.skipIf(!haveCli)('vault CLI', () => {
  it('backup --cron is silent; restore by CLI is byte-for-byte; check passes', async () => {
    const { cfgFile, repo, src, key } = setup();
    await makeCorpus(src, { files: 30, totalBytes: 2_000_000, seed: 'cli1' });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(repo);
    const b = vault(['backup', cfgFile, '--cron']);
    expect(b).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const [snap] = snapshotsOf(repo);
    const out = path.join(dir.path, 'out');
    const r = vault(['restore', repo, '', snap!, out], { VAULTIK_PRIVATE_KEY: key });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(diffTrees(await hashTree(src), await hashTree(path.join(out, src)))).toEqual([]);
    expect(vault(['check', repo, ''], { VAULTIK_PRIVATE_KEY: key }).code).toBe(0);
  });

  it('kill -9 mid-backup: rerun completes, reuses uploaded blobs, restores byte-for-byte', async () => {
    const { cfgFile, repo, src, key } = setup();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(repo);
    mkdirSync(src);
    for (let i = 0; i < 40; i++) writeFileSync(path.join(src, `f${i}.bin`), randomBytes(1_500_000));
    const child = spawn(process.execPath, [CLI, 'vault', 'backup', cfgFile, '--cron'], { stdio: 'ignore' });
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (files(path.join(repo, 'blobs')).filter((f) => !f.includes('.tmp-')).length >= 5) {
          child.kill('SIGKILL');
          clearInterval(t);
          resolve();
        }
      }, 2);
    });
    await new Promise((r) => child.once('exit', r));
    expect(snapshotsOf(repo)).toEqual([]); // killed before committing
    const survivors = files(path.join(repo, 'blobs')).filter((f) => !f.includes('.tmp-'));
    expect(survivors.length).toBeGreaterThanOrEqual(5);
    const second = vault(['backup', cfgFile, '--json']);
    expect(second.code).toBe(0);
    const summary = JSON.parse(second.stdout.trim().split('\n').pop()!) as { blobs_uploaded: number; snapshot_id: string };
    const all = files(path.join(repo, 'blobs')).filter((f) => !f.includes('.tmp-'));
    // Only what was missing went up again: every surviving blob is reused.
    expect(summary.blobs_uploaded).toBeLessThanOrEqual(all.length - survivors.length);
    const stored = all.reduce((a, f) => a + statSync(f).size, 0);
    expect(stored).toBeLessThan(40 * 1_500_000 * 1.02 + survivors.length * 1_100_000);
    expect(vault(['check', repo, ''], { VAULTIK_PRIVATE_KEY: key })).toMatchObject({ code: 0 });
    const out = path.join(dir.path, 'out');
    expect(vault(['restore', repo, '', summary.snapshot_id, out], { VAULTIK_PRIVATE_KEY: key }).code).toBe(0);
    expect(diffTrees(await hashTree(src), await hashTree(path.join(out, src)))).toEqual([]);
  });

  it('malformed config: clear error naming the key, exit 1, nothing written', () => {
    const { cfgFile, repo } = setup({ bogus_key: '1', chunk_size: 'lots' });
    const r = vault(['backup', cfgFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown key 'bogus_key'");
    expect(r.stderr).toContain('chunk_size');
    expect(files(repo)).toEqual([]);
    const bad = path.join(dir.path, 'bad.yaml');
    writeFileSync(bad, 'source_dirs: [/x]\nage_recipient: age1notakey\nlocal_dir: /tmp\n');
    expect(vault(['backup', bad]).stderr).toMatch(/age_recipient: invalid age recipient/);
    expect(vault(['backup']).code).toBe(2);
  });

  it('wrong key, missing key, missing repo: clear errors, non-zero exit, key never printed', async () => {
    const { cfgFile, repo, src } = setup();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(repo);
    mkdirSync(src);
    writeFileSync(path.join(src, 'a'), 'a');
    expect(vault(['backup', cfgFile, '--cron']).code).toBe(0);
    const [snap] = snapshotsOf(repo);
    const wrong = X25519Identity.generate().toString();
    const r = vault(['restore', repo, '', snap!, path.join(dir.path, 'o')], { VAULTIK_PRIVATE_KEY: wrong });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no identity matches/);
    expect(r.stderr + r.stdout).not.toContain(wrong);
    const none = vault(['restore', repo, '', snap!, path.join(dir.path, 'o')], { VAULTIK_PRIVATE_KEY: '' });
    expect(none.stderr).toMatch(/VAULTIK_AGE_SECRET_KEY \(or VAULTIK_PRIVATE_KEY\) is not set/);
    const missing = vault(['restore', path.join(dir.path, 'nope'), '', snap!, path.join(dir.path, 'o')], { VAULTIK_PRIVATE_KEY: wrong });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
    expect(vault(['restore', repo, '', '20990101T000000Z-00000000', path.join(dir.path, 'o')], { VAULTIK_PRIVATE_KEY: wrong }).stderr).toMatch(/not found/);
  });

  it('a flipped bit: check exits 3 naming the file; restore exits 3 and restores the rest', async () => {
    const { cfgFile, repo, src, key } = setup({ pack_size: '8MiB', chunk_size: '1MiB' });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(repo);
    mkdirSync(src);
    writeFileSync(path.join(src, 'victim.bin'), oneChunkOfNoise(600_000, 1 << 20));
    writeFileSync(path.join(src, 'other.txt'), 'unaffected\n'.repeat(20_000));
    expect(vault(['backup', cfgFile, '--cron']).code).toBe(0);
    const [snap] = snapshotsOf(repo);
    // victim.bin is one chunk (below the 256 KiB minimum of 1 MiB chunking) spanning ~9 segments; flip a bit
    // in a segment strictly inside it, so no other file can share it (pack order depends on worker timing).
    const meta = await loadSnapshot(new LocalStorage(repo), X25519Identity.parse(key), 'index/', snap!);
    const victim = meta.entries.find((e) => e.p.endsWith('victim.bin'))!;
    const [, bi, offset] = meta.chunks[victim.c![0]!]!;
    const [blobId, , header] = meta.blobs[bi]!;
    const blob = path.join(repo, 'blobs', blobId.slice(0, 2), blobId);
    const b = readFileSync(blob);
    expect(victim.c).toHaveLength(1);
    flip(b, header + 16 + (Math.floor(offset / 65536) + 2) * (65536 + 16) + 20, 4);
    writeFileSync(blob, b);
    const c = vault(['check', repo, ''], { VAULTIK_PRIVATE_KEY: key });
    expect(c.code).toBe(3);
    expect(c.stdout).toContain(`affected file: ${snap}:${path.join(src, 'victim.bin')}`);
    const out = path.join(dir.path, 'out');
    const r = vault(['restore', repo, '', snap!, out], { VAULTIK_PRIVATE_KEY: key });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(path.join(src, 'victim.bin'));
    expect(readFileSync(path.join(out, src, 'other.txt'), 'utf8')).toBe('unaffected\n'.repeat(20_000));
  });

  it('--help on every subcommand', () => {
    for (const sub of ['backup', 'restore', 'fetch', 'snapshots', 'prune', 'check', 'keygen']) {
      const r = vault(['help', sub]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: restic-manager vault ${sub}`));
      expect(r.stdout).toMatch(/Exit status/);
    }
    expect(vault(['--help']).stdout).toMatch(/vault <subcommand>/);
  });

  it("help says what is vaultik's and what is not: its configuration and commands, its own repository format", () => {
    const help = vault(['help']).stdout.replace(/\s+/g, ' ');
    expect(help).toContain("vaultik's configuration and commands; its repository format is its own");
    expect(help).not.toMatch(/vaultik-compatible/);
    expect(vault(['help', 'backup']).stdout.replace(/\s+/g, ' ')).toContain("The config is vaultik's; the repository format is this project's own.");
  });
});
