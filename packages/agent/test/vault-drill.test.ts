import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as vault from '@restic-manager/vault';
import { X25519Identity } from '@restic-manager/vault';
import type { SnapshotMeta } from '@restic-manager/vault';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import { runVaultDrill, verifyFile } from '../src/jobs/vault-drill.js';
import { identityFilePath, identityStatus, readIdentityFile } from '../src/jobs/vault-identity.js';
import { runVaultJob } from '../src/jobs/vault-run.js';

/* Vault drills on the trusted host (docs/recoverability.md "Vault drills"), with the real vault engine. */
describe('vault drill: the identity file and the verification', () => {
  let t: TempDir;
  let src: string;
  let repo: string;
  let snapshotId: string;
  const id = X25519Identity.generate();
  const target = () => ({ storage: { type: 'local' as const, path: repo }, age_recipient: id.recipient.toString() });
  const keyFile = (name: string, text: string, mode = 0o600): string => {
    const f = path.join(t.path, name);
    fs.writeFileSync(f, text, { mode });
    fs.chmodSync(f, mode);
    return f;
  };

  beforeAll(async () => {
    t = await tempDir('rm-vault-drill-');
    src = path.join(t.path, 'src');
    repo = path.join(t.path, 'repo');
    fs.mkdirSync(path.join(src, 'd'), { recursive: true });
    fs.writeFileSync(path.join(src, 'd', 'a.txt'), 'vault drill\n'.repeat(2000));
    fs.writeFileSync(path.join(src, 'big.bin'), randomBytes(2 * 1024 * 1024));
    const r = await runVaultJob({
      kind: 'vault_backup', args: { paths: [src] }, target: target(), signal: new AbortController().signal,
      indexDir: path.join(t.path, 'index'), line: () => undefined, progress: () => undefined,
    });
    expect(r.outcome.status, JSON.stringify(r.outcome)).toBe('succeeded');
    snapshotId = String(r.outcome.stats?.snapshot_id);
  });
  afterAll(async () => t?.cleanup());

  it('the environment wins over agent.yaml; empty means none', () => {
    expect(identityFilePath('/etc/a', {})).toBe('/etc/a');
    expect(identityFilePath('/etc/a', { RM_VAULT_IDENTITY_FILE: '/etc/b' })).toBe('/etc/b');
    expect(identityFilePath(undefined, { RM_VAULT_IDENTITY_FILE: '' })).toBeUndefined();
  });

  it('reports only the public recipient of a good file; refuses 0644, a symlink, a missing file and junk without echoing the content', async () => {
    const good = keyFile('good.txt', `# public key: ${id.recipient.toString()}\n${id.toString()}\n`);
    expect(await identityStatus(good)).toEqual({ recipient: id.recipient.toString(), error: null });
    const open = keyFile('open.txt', `${id.toString()}\n`, 0o644);
    const refused = await identityStatus(open);
    expect(refused.recipient).toBeNull();
    expect(refused.error).toBe(`vault identity file ${open} has mode 0644: it must be 0600 (no access for group or others); run chmod 600 ${open}`);
    const link = path.join(t.path, 'link.txt');
    fs.symlinkSync(good, link);
    expect((await readIdentityFile(link)).ok).toBe(false);
    expect(await identityStatus(path.join(t.path, 'nope'))).toMatchObject({ error: expect.stringMatching(/does not exist/) });
    const junk = await identityStatus(keyFile('junk.txt', 'AGE-SECRET-KEY-1NOTAKEY\n'));
    expect(junk.error).toMatch(/does not hold a valid age identity/);
    expect(JSON.stringify([refused, junk])).not.toContain(id.toString());
  });

  it('drills a seeded sample and removes its scratch directory; a different identity is refused naming both recipients', async () => {
    const storage = new vault.LocalStorage(repo);
    const scratchParent = path.join(t.path, 'drills');
    const args = { snapshot_id: snapshotId, sample_files: 5, sample_bytes: 1 << 30, seed: 's' };
    const ok = await runVaultDrill(vault, storage, target(), args, { identityFile: keyFile('k1.txt', `${id.toString()}\n`), scratchParent, line: () => undefined });
    expect(ok.status, JSON.stringify(ok)).toBe('succeeded');
    expect(ok.stats).toMatchObject({ files: 2, snapshot_files: 2, bytes: 2 * 1024 * 1024 + 'vault drill\n'.length * 2000 });
    expect(fs.readdirSync(scratchParent)).toEqual([]);
    const other = X25519Identity.generate();
    const bad = await runVaultDrill(vault, storage, target(), args, { identityFile: keyFile('k2.txt', `${other.toString()}\n`), scratchParent, line: () => undefined });
    expect(bad.error).toBe(`the vault identity of this host (recipient ${other.recipient.toString()}) does not match the vault target's recipient ${id.recipient.toString()}`);
    const none = await runVaultDrill(vault, storage, target(), args, { identityFile: undefined, scratchParent, line: () => undefined });
    expect(none.error).toMatch(/holds no vault identity/);
  });

  it('every restored byte is checked against the chunk hashes: one flipped byte names the chunk', async () => {
    const data = randomBytes(3000);
    const f = path.join(t.path, 'restored.bin');
    fs.writeFileSync(f, data);
    const h = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    const meta = { chunks: [[h(data.subarray(0, 1000)), 0, 0, 0, 1000], [h(data.subarray(1000)), 0, 0, 0, 2000]] } as unknown as SnapshotMeta;
    const e = { p: '/x', t: 'f' as const, m: 0o644, u: 0, g: 0, mt: '0', s: 3000, c: [0, 1] };
    const buf = Buffer.alloc(1 << 20);
    expect(await verifyFile(f, e, meta, buf)).toBeNull();
    data[1500] = data[1500]! ^ 1;
    fs.writeFileSync(f, data);
    expect(await verifyFile(f, e, meta, buf)).toMatch(/^chunk 2 \(bytes 1000–3000\) does not match the snapshot's content hash/);
    fs.writeFileSync(f, data.subarray(0, 2999));
    expect(await verifyFile(f, e, meta, buf)).toBe('it was restored with 2999 bytes, the snapshot holds 3000');
  });
});
