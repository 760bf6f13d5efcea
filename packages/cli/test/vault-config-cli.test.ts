/** The vault CLI with today's vaultik config forms (VAULTIK_CONFIG, VAULTIK_AGE_SECRET_KEY, several recipients). */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import { X25519Identity } from '@restic-manager/vault';
import { writeTree } from '../../vault/test/helpers.js';
import { haveCli, vault } from './vault-cli-helpers.js';

const ids = [X25519Identity.generate(), X25519Identity.generate(), X25519Identity.generate()];
const [r1, r2] = ids.map((i) => i.recipient.toString()) as [string, string, string];

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('vault-cfgforms-cli-');
});
afterEach(() => dir.cleanup());

describe.skipIf(!haveCli)('CLI with the new forms', () => {
  it('backup from VAULTIK_CONFIG (one snapshot per name), restore with VAULTIK_AGE_SECRET_KEY of either recipient', () => {
    const src = path.join(dir.path, 'src');
    writeTree(src, { 'f.txt': 'hello' });
    const repo = path.join(dir.path, 'repo');
    mkdirSync(repo);
    const file = path.join(dir.path, 'vaultik.yaml');
    writeFileSync(file, [
      'snapshots:', '  main:', `    paths: [${src}]`,
      'age_recipients:', `  - ${r1}`, `  - ${r2}`,
      `storage_url: file://${repo}`, `index_path: ${path.join(dir.path, 'i.sqlite')}`, '',
    ].join('\n'));
    const b = vault(['backup', '--json'], { VAULTIK_CONFIG: file });
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const summary = JSON.parse(b.stdout.trim().split('\n').pop()!) as { snapshot_id: string; name: string };
    expect(summary.name).toBe('main');
    for (const [i, id] of ids.slice(0, 2).entries()) {
      const out = path.join(dir.path, `o${i}`);
      const r = vault(['restore', repo, '', summary.snapshot_id, out], { VAULTIK_AGE_SECRET_KEY: id.toString(), VAULTIK_PRIVATE_KEY: '' });
      expect(r.stderr).toBe('');
      expect(readFileSync(path.join(out, src, 'f.txt'), 'utf8')).toBe('hello');
    }
    const both = vault(['restore', repo, '', summary.snapshot_id, path.join(dir.path, 'o9')], { VAULTIK_AGE_SECRET_KEY: ids[0]!.toString(), VAULTIK_PRIVATE_KEY: ids[1]!.toString() });
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/VAULTIK_AGE_SECRET_KEY and VAULTIK_PRIVATE_KEY are both set and differ/);
    expect(both.stderr).not.toContain('AGE-SECRET-KEY');
  });
});
