import { mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import { backup, decodeName, fsPath, LocalStorage, restore } from '../src/index.js';
import { localConfig } from './helpers.js';

/** The bytes fsPath gives the filesystem for `s`. */
const bytes = (s: string): Buffer => {
  const p = fsPath(s);
  return typeof p === 'string' ? Buffer.from(p) : p;
};

describe('raw names: bytes <-> the vault\'s path strings', () => {
  it('any byte string comes back byte for byte (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      expect(bytes(decodeName(b)).equals(Buffer.from(b))).toBe(true);
    }), { numRuns: 2000 });
  });

  it('valid UTF-8 is its plain string, and fsPath leaves every plain string alone (property)', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
      expect(decodeName(Buffer.from(s))).toBe(s);
      expect(fsPath(s)).toBe(s);
    }), { numRuns: 2000 });
  });

  it('each undecodable byte is one escape; decodable neighbours stay characters', () => {
    const cases: [Buffer, string][] = [
      [Buffer.from([0x62, 0x61, 0x64, 0x80, 0x2e]), 'bad\udc80.'], // lone continuation byte
      [Buffer.from([0xff, 0xfe, 0x6e]), '\udcff\udcfen'],
      [Buffer.from([0xc0, 0xaf, 0x78]), '\udcc0\udcafx'], // overlong '/'
      [Buffer.from([0x61, 0xe2, 0x82]), 'a\udce2\udc82'], // truncated euro sign
      [Buffer.from([0xed, 0xa0, 0x80]), '\udced\udca0\udc80'], // an encoded surrogate
      [Buffer.from([0xf4, 0x90, 0x80, 0x80]), '\udcf4\udc90\udc80\udc80'], // above U+10FFFF
      [Buffer.concat([Buffer.from('é€😀'), Buffer.from([0xe9])]), 'é€😀\udce9'], // Latin-1 é after real characters
      [Buffer.from('a\ufffdb'), 'a\ufffdb'], // a real U+FFFD in a name is a character, not damage
      [Buffer.concat([Buffer.from('\ufffd'), Buffer.from([0x80])]), '\ufffd\udc80'],
    ];
    for (const [b, s] of cases) {
      expect(decodeName(b)).toBe(s);
      expect(bytes(s).equals(b)).toBe(true);
    }
    // a real astral character whose low half lies in the escape range is not mistaken for one
    const astral = String.fromCodePoint(0x10080);
    expect(fsPath(`x${astral}`)).toBe(`x${astral}`);
  });
});

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('vault-raw-');
});
afterEach(() => dir.cleanup());

describe('names that are not valid UTF-8', () => {
  it('are backed up without errors and restored under their exact bytes (files, a directory, a symlink target)', async () => {
    const src = path.join(dir.path, 'src');
    mkdirSync(src, { recursive: true });
    const raw = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
    const at = (...names: Buffer[]): Buffer => Buffer.concat([Buffer.from(src), ...names.flatMap((n) => [Buffer.from('/'), n])]);
    const files: [Buffer, string][] = [
      [raw('bad', [0x80], '.bin'), 'lone continuation'],
      [raw([0xff, 0xfe], 'name'), 'ff fe'],
      [raw('caf', [0xe9]), 'latin-1'],
      [raw('caf', [0xc3, 0xa9]), 'utf-8 beside its latin-1 twin'],
    ];
    for (const [n, content] of files) writeFileSync(at(n), content);
    const d = raw('-dir\n', [0xfe]);
    mkdirSync(at(d));
    writeFileSync(at(d, raw('inside', [0xc0, 0xaf])), 'deep');
    symlinkSync(raw('target', [0x81]), at(raw('link')));

    const { cfg, identity, repo } = localConfig(dir.path, [src]);
    const storage = new LocalStorage(repo);
    const r = await backup(cfg, { storage });
    expect(r.errors).toEqual([]);
    expect(r.files).toBe(files.length + 1);
    const out = path.join(dir.path, 'out');
    const res = await restore({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, target: out });
    expect(res.damaged).toEqual([]);
    const restored = Buffer.from(path.join(out, src));
    const inOut = (...names: Buffer[]): Buffer => Buffer.concat([restored, ...names.flatMap((n) => [Buffer.from('/'), n])]);
    const names = readdirSync(restored, { encoding: 'buffer' }).map((b) => b.toString('hex')).sort();
    expect(names).toEqual([...files.map(([n]) => n), d, raw('link')].map((b) => b.toString('hex')).sort());
    for (const [n, content] of files) expect(readFileSync(inOut(n), 'utf8')).toBe(content);
    expect(readFileSync(inOut(d, raw('inside', [0xc0, 0xaf])), 'utf8')).toBe('deep');
    expect(readlinkSync(inOut(raw('link')), { encoding: 'buffer' }).equals(raw('target', [0x81]))).toBe(true);

    // an unchanged second run reads nothing again: the change index knows these names too
    expect((await backup(cfg, { storage })).filesRead).toBe(0);
  });
});
