// Interoperability with the real age CLI (Debian `age`), both directions.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { AgeEncryptor, decrypt, encrypt, X25519Identity, X25519Recipient } from '../src/age/index.js';

const haveAge = spawnSync('sh', ['-c', 'command -v age && command -v age-keygen'], { stdio: 'ignore' }).status === 0;
if (!haveAge) console.warn('skipping age CLI interop: `age` not installed (apt-get install age)');
const dir = mkdtempSync(path.join(tmpdir(), 'vault-age-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveAge)('age CLI interop', () => {
  const sizes = [0, 1, 65536, 65537, 3 * 65536 + 5];

  it('files we encrypt decrypt with `age -d -i`', () => {
    const id = X25519Identity.generate();
    const keyFile = path.join(dir, 'ours.key');
    writeFileSync(keyFile, `${id.toString()}\n`, { mode: 0o600 });
    for (const size of sizes) {
      const plain = randomBytes(size);
      const enc = path.join(dir, `ours-${size}.age`);
      writeFileSync(enc, encrypt(plain, [id.recipient]));
      const out = execFileSync('age', ['-d', '-i', keyFile, enc], { maxBuffer: 1 << 26 });
      expect(out.equals(plain), `size ${size}`).toBe(true);
    }
  });

  it('streams pushed in odd pieces decrypt with age', () => {
    const id = X25519Identity.generate();
    const keyFile = path.join(dir, 'stream.key');
    writeFileSync(keyFile, `${id.toString()}\n`, { mode: 0o600 });
    const plain = randomBytes(200_003);
    const e = new AgeEncryptor([id.recipient]);
    const parts: Buffer[] = [];
    for (let i = 0; i < plain.length; i += 7777) parts.push(...e.push(plain.subarray(i, i + 7777)));
    parts.push(...e.finish());
    const enc = path.join(dir, 'stream.age');
    writeFileSync(enc, Buffer.concat(parts));
    expect(execFileSync('age', ['-d', '-i', keyFile, enc], { maxBuffer: 1 << 26 }).equals(plain)).toBe(true);
  });

  it('files `age -r` encrypts decrypt with ours; keys from age-keygen parse', () => {
    const keyFile = path.join(dir, 'theirs.key');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
    const text = readFileSync(keyFile, 'utf8');
    const secret = text.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    const pub = /public key: (age1\S+)/.exec(text)![1]!;
    const id = X25519Identity.parse(secret);
    expect(id.recipient.toString()).toBe(pub);
    expect(id.toString()).toBe(secret);
    expect(X25519Recipient.parse(pub).toString()).toBe(pub);
    for (const size of sizes) {
      const plain = randomBytes(size);
      const src = path.join(dir, `theirs-${size}.bin`);
      writeFileSync(src, plain);
      const enc = execFileSync('age', ['-r', pub, src], { maxBuffer: 1 << 26 });
      expect(decrypt(enc, [id]).equals(plain), `size ${size}`).toBe(true);
    }
  });

  it('a wrong identity is rejected as no match', () => {
    const enc = encrypt(Buffer.from('x'), [X25519Identity.generate().recipient]);
    expect(() => decrypt(enc, [X25519Identity.generate()])).toThrow(/no identity matches/);
  });
});
