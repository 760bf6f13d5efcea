/**
 * Snapshot metadata (encrypted) and the plaintext per-snapshot reference list.
 * Metadata = zstd(JSON) encrypted to every recipient; it holds the whole tree, every
 * file's chunk list, the chunk table and the blob map. The `.refs` object holds only
 * blob ids and the metadata object's SHA-256, so prune and check work without the key.
 */
import { createHash } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';
import { decrypt, encrypt, type X25519Identity, type X25519Recipient } from './age/index.js';

export type EntryType = 'f' | 'd' | 'l';

export interface Entry {
  /** Absolute path on the source host. */
  p: string;
  t: EntryType;
  m: number;
  u: number;
  g: number;
  /** mtime, nanoseconds since the epoch, as a decimal string. */
  mt: string;
  /** Regular files: size in bytes and indices into `chunks`. */
  s?: number;
  c?: number[];
  /** Symlinks: target. */
  l?: string;
}

export interface SnapshotMeta {
  v: 1;
  id: string;
  time: string;
  hostname: string;
  /** The config's snapshot name (`snapshots: <name>:`); absent for the seed form's `source_dirs`. */
  name?: string;
  sources: string[];
  /** [blob id, plaintext size, header length, object size] */
  blobs: Array<[string, number, number, number]>;
  /** [sha256 hex, blob index, offset in blob plaintext, compressed length, raw length] */
  chunks: Array<[string, number, number, number, number]>;
  entries: Entry[];
}

export function encodeMeta(meta: SnapshotMeta, recipients: X25519Recipient[]): Buffer {
  return encrypt(compress(Buffer.from(JSON.stringify(meta)), { compressionLevel: 3 }), recipients);
}

/** Decrypts and parses metadata; throws on a wrong key, tampering or a malformed document. */
export function decodeMeta(obj: Buffer, identity: X25519Identity): SnapshotMeta {
  const doc = JSON.parse(decompress(decrypt(obj, [identity])).toString('utf8')) as SnapshotMeta;
  if (doc.v !== 1 || !Array.isArray(doc.entries) || !Array.isArray(doc.chunks) || !Array.isArray(doc.blobs)) {
    throw new Error('snapshot metadata: unsupported or malformed document');
  }
  return doc;
}

export interface Refs {
  snapshot: string;
  metaSha256: string;
  blobs: string[];
}

const REFS_MAGIC = 'vault-refs v1';

export function encodeRefs(r: Refs): Buffer {
  const body = `${REFS_MAGIC}\nsnapshot ${r.snapshot}\nmeta ${r.metaSha256}\n${[...r.blobs].sort().map((b) => `blob ${b}\n`).join('')}`;
  return Buffer.from(`${body}sha256 ${createHash('sha256').update(body).digest('hex')}\n`);
}

/** Parses a `.refs` object; throws if its self-checksum or syntax is wrong. */
export function decodeRefs(buf: Buffer): Refs {
  const text = buf.toString('utf8');
  const m = /^([\s\S]*)sha256 ([0-9a-f]{64})\n$/.exec(text);
  if (!m || createHash('sha256').update(m[1]!).digest('hex') !== m[2]) throw new Error('refs list is corrupted (checksum mismatch)');
  const lines = m[1]!.split('\n').filter(Boolean);
  if (lines[0] !== REFS_MAGIC) throw new Error('refs list: unknown format');
  const r: Refs = { snapshot: '', metaSha256: '', blobs: [] };
  for (const l of lines.slice(1)) {
    const [k, v] = l.split(' ');
    if (k === 'snapshot') r.snapshot = v ?? '';
    else if (k === 'meta') r.metaSha256 = v ?? '';
    else if (k === 'blob' && v && /^[0-9a-f]{64}$/.test(v)) r.blobs.push(v);
    else throw new Error(`refs list: bad line '${l.slice(0, 80)}'`);
  }
  return r;
}
