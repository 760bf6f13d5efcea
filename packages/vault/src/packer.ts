/**
 * Packs compressed chunks into blobs: each blob is one age file (one stanza per recipient)
 * whose plaintext is the concatenation of zstd frames. A blob is closed at the pack
 * target size, named by the SHA-256 of its ciphertext, and uploaded create-only.
 * At most `maxUploads` blobs are in flight; add() waits for a slot (backpressure).
 * Only after an upload succeeds is the blob reported through `onUploaded`.
 */
import { createHash, type Hash } from 'node:crypto';
import { AgeEncryptor, type X25519Recipient } from './age/index.js';
import { collectGarbage, GC_EVERY } from './gc.js';
import { blobKey } from './layout.js';
import type { BlobRecord } from './index-db.js';
import type { StagedObject, Storage } from './storage/index.js';

/** Ciphertext buffered before it is handed to a staged object. */
const STAGE_FLUSH = 1024 * 1024;
/**
 * Ciphertext queued for writing before the packer waits for the disk. Queued pieces
 * outlive minor collections and are promoted, so each MB here costs about a MB of RSS
 * (bench:vault: 4 MiB -> 1 MiB saved ~13 MB peak RSS at the same speed).
 */
const WRITE_BACKLOG = 1024 * 1024;

export interface PackedChunk {
  hash: Buffer;
  offset: number;
  length: number;
  raw: number;
}

/** Ciphertext queued for the disk across every open and closing blob (bounded memory). */
export class Backlog {
  private bytes = 0;
  private readonly waiters: Array<() => void> = [];
  add(n: number): void {
    this.bytes += n;
  }
  done(n: number): void {
    this.bytes -= n;
    while (this.bytes <= WRITE_BACKLOG && this.waiters.length > 0) this.waiters.shift()!();
  }
  /** Resolves once the backlog is at most WRITE_BACKLOG bytes. */
  async drain(): Promise<void> {
    while (this.bytes > WRITE_BACKLOG) await new Promise<void>((r) => this.waiters.push(r));
  }
}

/** A blob being filled; `id` is set when it is closed. */
export class OpenBlob {
  id: string | null = null;
  readonly chunks: PackedChunk[] = [];
  readonly encryptor: AgeEncryptor;
  readonly parts: Buffer[] = [];
  readonly hasher: Hash = createHash('sha256');
  size = 0;
  pendingBytes = 0;
  staged: StagedObject | null = null;
  /** Writes to the staged object are chained (in order) without blocking the packer. */
  writes: Promise<void> = Promise.resolve();
  /** Queues pieces for the staged object; `backlog` counts bytes queued across all blobs. */
  queueWrite(pieces: Buffer[], bytes: number, backlog: Backlog): void {
    const staged = this.staged!;
    backlog.add(bytes);
    this.writes = this.writes.then(() => staged.write(pieces)).finally(() => backlog.done(bytes));
    this.writes.catch(() => undefined); // surfaced when the blob is committed
  }
  constructor(recipients: X25519Recipient[]) {
    this.encryptor = new AgeEncryptor(recipients);
  }
  write(bufs: Buffer[]): void {
    for (const b of bufs) {
      this.parts.push(b);
      this.hasher.update(b);
      this.size += b.length;
      this.pendingBytes += b.length;
    }
  }
}

export interface PackerOptions {
  recipients: X25519Recipient[];
  storage: Storage;
  target: number;
  maxUploads?: number;
  onUploaded(blob: BlobRecord, chunks: PackedChunk[]): void;
}

export class Packer {
  private current: OpenBlob | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private failure: unknown = null;
  private nextStaged: Promise<StagedObject> | null = null;
  private readonly backlog = new Backlog();
  private sinceGc = 0;
  bytesUploaded = 0;
  blobsUploaded = 0;

  constructor(private readonly o: PackerOptions) {}

  /** Appends a compressed chunk; returns the blob it went into (id known once closed). */
  async add(hash: Buffer, raw: number, data: Uint8Array): Promise<OpenBlob> {
    if (this.failure) throw this.failure;
    let blob = this.current;
    if (!blob) {
      blob = this.current = new OpenBlob(this.o.recipients);
      if (this.o.storage.stage) {
        // The next blob's staging file is created while this one fills.
        blob.staged = await (this.nextStaged ?? this.o.storage.stage());
        this.nextStaged = this.o.storage.stage();
        this.nextStaged.catch(() => undefined);
      }
    }
    const offset = blob.encryptor.plaintextLength;
    blob.write(blob.encryptor.push(data));
    this.sinceGc += data.length;
    if (this.sinceGc >= GC_EVERY) {
      this.sinceGc = 0;
      collectGarbage(); // frees the ciphertext pieces already written (see gc.ts)
    }
    blob.chunks.push({ hash, offset, length: data.length, raw });
    if (blob.staged && blob.pendingBytes >= STAGE_FLUSH) {
      const bytes = blob.pendingBytes;
      blob.pendingBytes = 0;
      blob.queueWrite(blob.parts.splice(0), bytes, this.backlog);
      await this.backlog.drain();
    }
    if (blob.encryptor.plaintextLength >= this.o.target) await this.close();
    return blob;
  }

  private async close(): Promise<void> {
    const blob = this.current;
    if (!blob) return;
    this.current = null;
    while (this.inflight.size >= (this.o.maxUploads ?? (this.o.storage.stage ? 8 : 2))) await Promise.race(this.inflight);
    if (this.failure) throw this.failure;
    const plain = blob.encryptor.plaintextLength;
    const header = blob.encryptor.headerLength;
    blob.write(blob.encryptor.finish());
    const id = blob.hasher.digest('hex');
    blob.id = id;
    const body = blob.parts.splice(0);
    const size = blob.size;
    const staged = blob.staged;
    const upload = staged
      ? (blob.queueWrite(body, body.reduce((a, b) => a + b.length, 0), this.backlog), blob.writes.then(() => staged.commit(blobKey(id), { createOnly: true })))
      : this.o.storage.put(blobKey(id), body, { createOnly: true });
    const p = upload
      .catch((e: unknown) => {
        if ((e as { code?: string }).code !== 'AlreadyExists') throw e;
      })
      .then(() => {
        body.length = 0;
        this.bytesUploaded += size;
        this.blobsUploaded++;
        this.o.onUploaded({ id, size, plain, header }, blob.chunks);
      })
      .catch((e: unknown) => {
        this.failure ??= e;
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Closes the open blob and waits for every upload; rejects if any upload failed. */
  async flush(): Promise<void> {
    await this.close();
    await Promise.all(this.inflight);
    if (this.nextStaged) {
      const unused = this.nextStaged;
      this.nextStaged = null;
      await unused.then((s) => s.abort()).catch(() => undefined);
    }
    if (this.failure) throw this.failure;
  }
}
