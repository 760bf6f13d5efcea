import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { decompress } from 'zstd-napi';
import type * as ZstdBinding from 'zstd-napi/binding.js';
import { gearScanModuleBytes } from '../src/gear-scan.js';
import { ChunkCompressor, compressedBound, rawFrameSize, rawZstdFrame } from '../src/zstd-raw.js';
import { ChunkPool } from '../src/pipeline/pool.js';
import type { WorkerMessage } from '../src/pipeline/protocol.js';
import { applyRetention, Chunker, chunkerParams, ConfigError, loadConfig, parseConfig, parseDuration, parseSize, X25519Identity } from '../src/index.js';

const { getFrameContentSize: frameContentSize } = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding;
const recipient = X25519Identity.generate().recipient.toString();

describe('config', () => {
  it("accepts vaultik's example unchanged and applies documented defaults", () => {
    const cfg = parseConfig({
      source_dirs: ['/etc', '/home/user/data'],
      exclude: ['*.log', '*.tmp'],
      age_recipient: recipient,
      s3: { endpoint: 'https://s3.example.com', bucket: 'vaultik-data', prefix: 'host1/', access_key_id: 'a', secret_access_key: 'b', region: 'us-east-1' },
      backup_interval: '1h',
      full_scan_interval: '24h',
      min_time_between_run: '15m',
      index_path: '/var/lib/vaultik/index.sqlite',
      chunk_size: '10MB',
      blob_size_limit: '10GB',
      index_prefix: 'index/',
    });
    expect(cfg.chunkSize).toBe(10_000_000);
    expect(cfg.blobSizeLimit).toBe(10_000_000_000);
    expect(cfg.backupIntervalMs).toBe(3_600_000);
    expect(cfg.minTimeBetweenRunMs).toBe(900_000);
    expect(cfg.s3?.prefix).toBe('host1/');
    const d = parseConfig({ source_dirs: ['/x'], age_recipient: recipient, local_dir: '/tmp/r' });
    expect(d.chunkSize).toBe(1024 * 1024);
    expect(d.packSize).toBe(16 * 1024 * 1024);
    expect(d.indexPrefix).toBe('index/');
    expect(d.fullScanIntervalMs).toBe(86_400_000);
    expect(d.exclude).toEqual([]);
    expect(d.compressionLevel).toBe(3);
    const e = parseConfig({ source_dirs: ['x'], age_recipient: recipient, s3: { bucket: 'b', prefix: '', force_path_style: false, ca_cert: 'ca.pem' }, index_prefix: '' }, '/base');
    expect(e.sourceDirs).toEqual(['/base/x']);
    expect(e.s3).toEqual({ bucket: 'b', prefix: '', region: 'us-east-1', forcePathStyle: false, caCert: '/base/ca.pem' });
    expect(e.indexPrefix).toBe('');
  });

  it.each([
    [{ source_dirs: ['/x'], age_recipient: recipient, local_dir: '/r', extra: 1 }, /unknown key 'extra'/],
    [{ source_dirs: ['/x'], age_recipient: recipient, s3: { bucket: 'b', typo: 1 } }, /unknown key 's3.typo'/],
    [{ source_dirs: [], age_recipient: recipient, local_dir: '/r' }, /source_dirs/],
    [{ source_dirs: ['/x'], age_recipient: 'age1bad', local_dir: '/r' }, /age_recipient/],
    [{ source_dirs: ['/x'], age_recipient: recipient, local_dir: '/r', backup_interval: 'soon' }, /backup_interval: invalid duration/],
    [{ source_dirs: ['/x'], age_recipient: recipient, local_dir: '/r', chunk_size: '1KB' }, /chunk_size/],
    [{ source_dirs: ['/x'], age_recipient: recipient }, /s3: required/],
    [{ source_dirs: '/x', age_recipient: recipient, local_dir: '/r' }, /source_dirs: expected a list/],
    [{ source_dirs: ['/x', 3], age_recipient: recipient, local_dir: '/r' }, /source_dirs\.1: expected a non-empty string/],
    [{ source_dirs: ['/x'], local_dir: '/r' }, /age_recipient: required/],
    [{ source_dirs: ['/x'], age_recipient: recipient, local_dir: '/r', compression_level: 0 }, /compression_level: expected an integer from 1 to 19/],
    [{ source_dirs: ['/x'], age_recipient: recipient, s3: 'bucket' }, /s3: expected a mapping/],
    [{ source_dirs: ['/x'], age_recipient: recipient, s3: { prefix: 'p/' } }, /s3\.bucket: required/],
    [{ source_dirs: ['/x'], age_recipient: recipient, s3: { bucket: 'b', endpoint: 'not a url' } }, /s3\.endpoint: expected a URL/],
    [{ source_dirs: ['/x'], age_recipient: recipient, s3: { bucket: 'b', force_path_style: 'yes' } }, /s3\.force_path_style: expected true or false/],
    [{ source_dirs: ['/x'], age_recipient: recipient, local_dir: '/r', chunk_size: [1] }, /chunk_size: expected a string or number/],
    // every problem is reported at once
    [{ source_dirs: [], age_recipient: recipient, local_dir: '/r', pack_size: 'big', extra: 1 }, /unknown key 'extra'; source_dirs: .*; pack_size: /],
    ['just a string', /YAML mapping/],
  ])('rejects %j naming the key', (doc, msg) => {
    expect(() => parseConfig(doc)).toThrow(ConfigError);
    expect(() => parseConfig(doc)).toThrow(msg);
  });

  it('reads a vaultik YAML file; bad YAML and duplicate keys are clear errors', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vault-cfg-'));
    try {
      const file = path.join(dir, 'vault.yaml');
      writeFileSync(file, `# vaultik example\nsource_dirs:\n  - ./data\nexclude: ["*.log"]\nage_recipient: ${recipient}\ns3:\n  bucket: vaultik-data\n  prefix: host1/\nbackup_interval: 1h\nchunk_size: 10MB\nindex_prefix: index/\n`);
      const cfg = loadConfig(file);
      expect(cfg.sourceDirs).toEqual([path.join(dir, 'data')]);
      expect(cfg.exclude).toEqual(['*.log']);
      expect(cfg.chunkSize).toBe(10_000_000);
      expect(cfg.s3).toMatchObject({ bucket: 'vaultik-data', prefix: 'host1/' });
      writeFileSync(file, 'source_dirs: [unclosed\n');
      expect(() => loadConfig(file)).toThrow(/config: .*vault\.yaml is not valid YAML/);
      writeFileSync(file, `source_dirs: [/a]\nsource_dirs: [/b]\nage_recipient: ${recipient}\nlocal_dir: /r\n`);
      expect(() => loadConfig(file)).toThrow(/not valid YAML: duplicated mapping key/);
      expect(() => loadConfig(path.join(dir, 'missing.yaml'))).toThrow(/cannot read .*missing\.yaml: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses sizes and durations', () => {
    expect(parseSize('512KiB')).toBe(524_288);
    expect(parseSize('1.5MB')).toBe(1_500_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(() => parseSize('ten')).toThrow();
    expect(() => parseDuration('1y')).toThrow();
  });
});

describe('FastCDC chunker', () => {
  const chunker = new Chunker(chunkerParams(64 * 1024));
  const cutsWith = (c: Chunker, b: Uint8Array): number[] => {
    const out: number[] = [];
    for (let off = 0; off < b.length; ) {
      off += c.cut(b, off, b.length);
      out.push(off);
    }
    return out;
  };
  const cuts = (b: Buffer): number[] => cutsWith(chunker, b);
  /** Deterministic data: a SHA-256 chain with a 200 kB run of one byte at a third. */
  const golden = (n: number): Buffer => {
    const parts: Buffer[] = [];
    let b = Buffer.from('vault golden');
    for (let len = 0; len < n; len += 32) parts.push((b = createHash('sha256').update(b).digest()));
    const d = Buffer.concat(parts).subarray(0, n);
    d.fill(0x61, n / 3, n / 3 + 200_000);
    return d;
  };
  /**
   * Cut points recorded with the JavaScript chunker (max = 2x average since 2026-12):
   * a change here breaks deduplication against existing repositories.
   */
  const GOLDEN: Array<[number, number, number, string, string]> = [
    [64 * 1024, 3 << 20, 42, '65783,152091,220874,286554', '584f97ec3df49d22'],
    [1 << 20, 12 << 20, 11, '1101663,2129036,3262568,4442270', 'b21f5846cd0fe643'],
  ];

  it('cuts at the recorded points, in JavaScript and in WebAssembly', () => {
    for (const [avg, n, count, first, digest] of GOLDEN) {
      const data = golden(n);
      const wasm = new Chunker(chunkerParams(avg), { bufferSize: n + 100 });
      expect(wasm.buffer).not.toBeNull();
      const inWasm = wasm.buffer!.subarray(100, 100 + n);
      data.copy(inWasm);
      for (const c of [cutsWith(new Chunker(chunkerParams(avg)), data), cutsWith(wasm, inWasm)]) {
        expect(c.length).toBe(count);
        expect(c.slice(0, 4).join(',')).toBe(first);
        expect(createHash('sha256').update(c.join(',')).digest('hex').slice(0, 16)).toBe(digest);
      }
    }
  });

  it('the WebAssembly loop matches the JavaScript loop on random data, streamed in random pieces', () => {
    const data = Buffer.concat([randomBytes(1_500_000), Buffer.alloc(300_000, 3), randomBytes(700_000)]);
    const c = new Chunker(chunkerParams(64 * 1024), { bufferSize: data.length });
    data.copy(c.buffer!);
    const got: number[] = [];
    let start = 0;
    let end = 0;
    for (;;) {
      const eof = end === data.length;
      const len = c.next(c.buffer!, start, end, eof);
      if (len > 0) got.push((start += len));
      else if (eof) break;
      else end = Math.min(data.length, end + 1 + Math.floor(Math.random() * 100_000));
    }
    expect(got).toEqual(cuts(data));
  });

  it('the embedded WebAssembly is gear-scan.wat compiled (wat2wasm)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wat-'));
    try {
      const out = path.join(dir, 'gear-scan.wasm');
      execFileSync('wat2wasm', [fileURLToPath(new URL('../src/gear-scan.wat', import.meta.url)), '-o', out]);
      expect(readFileSync(out).equals(gearScanModuleBytes())).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('respects min/max and averages near the target', () => {
    const data = randomBytes(8 * 1024 * 1024);
    const c = cuts(data);
    const sizes = c.map((x, i) => x - (c[i - 1] ?? 0));
    expect(Math.min(...sizes.slice(0, -1))).toBeGreaterThanOrEqual(16 * 1024);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(128 * 1024);
    const avg = data.length / sizes.length;
    expect(avg).toBeGreaterThan(40 * 1024);
    expect(avg).toBeLessThan(120 * 1024);
  });

  it('streaming next() over data arriving in random pieces cuts exactly where cut() does', () => {
    const data = Buffer.concat([randomBytes(900_000), Buffer.alloc(600_000, 7), randomBytes(500_000)]);
    const streaming = new Chunker(chunkerParams(64 * 1024));
    const got: number[] = [];
    let start = 0;
    let end = 0;
    for (;;) {
      const eof = end === data.length;
      const len = streaming.next(data, start, end, eof);
      if (len > 0) got.push((start += len));
      else if (eof) break;
      else end = Math.min(data.length, end + 1 + Math.floor(Math.random() * 100_000));
    }
    expect(got).toEqual(cuts(data));
  });

  it('an insertion near the start only changes the first chunks (content-defined)', () => {
    const data = randomBytes(4 * 1024 * 1024);
    const shifted = Buffer.concat([Buffer.from('inserted bytes'), data]);
    const a = new Set(cuts(data));
    const b = cuts(shifted).map((x) => x - 14);
    const shared = b.filter((x) => a.has(x)).length;
    expect(shared / a.size).toBeGreaterThan(0.9);
  });
});

describe('retention', () => {
  const snaps = ['2026-01-01T10:00:00Z', '2026-01-01T12:00:00Z', '2026-01-02T10:00:00Z', '2026-01-09T10:00:00Z', '2026-02-01T10:00:00Z'].map((t, i) => ({ id: `s${i}`, time: new Date(t) }));
  it('keep_last, keep_daily, keep_monthly, keep_within', () => {
    expect([...applyRetention(snaps, { keep_last: 2 })].sort()).toEqual(['s3', 's4']);
    expect([...applyRetention(snaps, { keep_daily: 3 })].sort()).toEqual(['s2', 's3', 's4']);
    expect([...applyRetention(snaps, { keep_monthly: 2 })].sort()).toEqual(['s3', 's4']);
    expect([...applyRetention(snaps, { keep_within: 24 * 86_400_000 })].sort()).toEqual(['s3', 's4']);
    expect(applyRetention(snaps, {}).size).toBe(5);
  });
});

describe('raw zstd frames for incompressible chunks', () => {
  it('round-trip through a standard zstd decoder at block boundaries', () => {
    for (const n of [0, 1, 131_072, 131_073, 1_000_000]) {
      const d = randomBytes(n);
      expect(decompress(rawZstdFrame(d)).equals(d)).toBe(true);
      expect(rawZstdFrame(d).length).toBe(rawFrameSize(n));
    }
  });
  it('ChunkCompressor stores random data raw, compresses text, and returns exact-size buffers', () => {
    const c = new ChunkCompressor(3, 1 << 20);
    const random = randomBytes(300_000);
    const r = c.compress(random);
    expect(r.length).toBe(rawZstdFrame(random).length);
    expect(r.buffer.byteLength).toBe(r.length);
    const text = Buffer.from('backup restore snapshot '.repeat(20_000));
    const t = c.compress(text);
    expect(t.length).toBeLessThan(text.length / 10);
    expect(t.buffer.byteLength).toBe(t.length);
    expect(decompress(t).equals(text)).toBe(true);
    expect(decompress(c.compress(random)).equals(random)).toBe(true);
  });
  it('ChunkCompressor decides by the first 64 KiB, writes one frame with its content size, and fits compressedBound', () => {
    const c = new ChunkCompressor(3, 2 << 20);
    const text = Buffer.from('backup restore snapshot '.repeat(90_000)); // ~2 MiB: streamed, flushed after the sample
    const mixed = Buffer.concat([Buffer.from('a'.repeat(65_536)), randomBytes(400_000)]); // compressible head, random tail
    const randomHead = Buffer.concat([randomBytes(65_536), Buffer.alloc(400_000)]); // the sample decides: stored raw
    const small = Buffer.from('snapshot '.repeat(12_000)); // 108 KB: below two samples, compressed in one call
    for (const d of [text, mixed, randomHead, small]) {
      const out = new Uint8Array(compressedBound(d.length));
      const n = c.compressInto(d, out);
      const frame = out.subarray(0, n);
      expect(Buffer.from(decompress(frame)).equals(d)).toBe(true);
      if (d !== randomHead) expect(Number(frameContentSize(frame))).toBe(d.length);
    }
    expect(c.compress(randomHead).length).toBe(rawFrameSize(randomHead.length));
    expect(c.compress(text).length).toBeLessThan(text.length / 100);
    // the context is reused: a raw decision mid-way leaves no state in the next frame
    expect(Buffer.from(decompress(c.compress(text))).equals(text)).toBe(true);
  });
});

describe('chunk worker pool', () => {
  it('streams chunks through a small shared ring (wrapping many times) intact and in order', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vault-pool-'));
    const file = path.join(dir, 'f');
    const data = Buffer.concat([randomBytes(1_500_000), Buffer.from('text '.repeat(300_000)), randomBytes(500_000)]);
    writeFileSync(file, data);
    const parts: Buffer[] = [];
    let ended: Extract<WorkerMessage, { type: 'end' }> | null = null;
    let padded = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((r) => (done = r));
    const held: { job: number; cost: number }[] = [];
    let stall: NodeJS.Timeout | undefined;
    const releaseOldest = (): void => {
      const h = held.shift();
      if (h) pool.release(h.job, h.cost);
    };
    const pool = new ChunkPool(chunkerParams(64 * 1024), 3, (m) => {
      if (m.type === 'end') {
        ended = m;
        done();
        return;
      }
      const plain = Buffer.from(decompress(m.data));
      expect(plain.length).toBe(m.raw);
      expect(Buffer.from(m.hash).equals(createHash('sha256').update(plain).digest())).toBe(true);
      parts.push(plain);
      if (m.cost > 32 + m.data.length) padded++; // wrapped to the ring's start
      // A slow consumer: the two newest chunks stay in flight (releases in message order), so the
      // worker writes past them and must wrap around the ring. A consumer that frees every chunk at
      // once would let the worker restart at offset 0. Counting chunks, not waiting a fixed time,
      // makes this hold however fast the worker runs; when the worker has stalled (its next chunk
      // does not fit beside the held ones) for 100 ms, everything held is released.
      held.push({ job: m.job, cost: m.cost });
      while (held.length > 2) releaseOldest();
      clearTimeout(stall);
      stall = setTimeout(() => {
        while (held.length) releaseOldest();
      }, 100);
    }, { workers: 1, ringSlack: 100_000 });
    try {
      pool.submit(file, data.length);
      await finished;
      expect(ended).toMatchObject({ size: data.length });
      expect(Buffer.concat(parts).equals(data)).toBe(true);
      expect(parts.length).toBeGreaterThan(20);
      expect(padded).toBeGreaterThan(0);
    } finally {
      clearTimeout(stall);
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
