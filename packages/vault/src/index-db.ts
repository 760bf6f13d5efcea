/**
 * The local index (SQLite at index_path): what the source already knows about its own
 * files (size, mtime, ctime, inode -> chunk list) and which chunks live in which
 * uploaded blob. It is a cache: deleting it costs re-reading and re-uploading, never
 * correctness, because every backup first drops entries whose blob is not in the bucket.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export interface ChunkLocation {
  blob: string;
  offset: number;
  length: number;
  raw: number;
}

export interface BlobRecord {
  id: string;
  size: number;
  plain: number;
  header: number;
}

export interface FileState {
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  inode: bigint;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns TEXT NOT NULL, ctime_ns TEXT NOT NULL, inode TEXT NOT NULL, chunks BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, size INTEGER NOT NULL, plain INTEGER NOT NULL, header INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks (hash BLOB PRIMARY KEY, blob TEXT NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL, raw INTEGER NOT NULL) WITHOUT ROWID;
`;

export class LocalIndex {
  private readonly db: Database.Database;
  private readonly stmts;

  /** Opens (creating) the index; `target` identifies bucket+prefix+recipient — a different target resets the index. */
  constructor(file: string, target: string) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    const current = this.db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'target'`).get();
    if (current && current.value !== target) this.db.exec('DELETE FROM files; DELETE FROM blobs; DELETE FROM chunks;');
    this.db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('target', ?)`).run(target);
    this.stmts = {
      getFile: this.db.prepare<[string], { size: number; mtime_ns: string; ctime_ns: string; inode: string; chunks: Buffer }>(
        'SELECT size, mtime_ns, ctime_ns, inode, chunks FROM files WHERE path = ?',
      ),
      putFile: this.db.prepare('INSERT OR REPLACE INTO files (path, size, mtime_ns, ctime_ns, inode, chunks) VALUES (?, ?, ?, ?, ?, ?)'),
      getChunk: this.db.prepare<[Buffer], { blob: string; offset: number; length: number; raw: number }>('SELECT blob, offset, length, raw FROM chunks WHERE hash = ?'),
      putChunk: this.db.prepare('INSERT OR REPLACE INTO chunks (hash, blob, offset, length, raw) VALUES (?, ?, ?, ?, ?)'),
      getBlob: this.db.prepare<[string], BlobRecord>('SELECT id, size, plain, header FROM blobs WHERE id = ?'),
      putBlob: this.db.prepare('INSERT OR REPLACE INTO blobs (id, size, plain, header) VALUES (?, ?, ?, ?)'),
    };
  }

  /** Chunk list of a file if its stat signature is unchanged since the last backup. */
  unchangedFile(p: string, st: FileState): Buffer[] | null {
    const row = this.stmts.getFile.get(p);
    if (!row || row.size !== st.size || row.mtime_ns !== String(st.mtimeNs) || row.ctime_ns !== String(st.ctimeNs) || row.inode !== String(st.inode)) return null;
    const out: Buffer[] = [];
    for (let i = 0; i < row.chunks.length; i += 32) out.push(row.chunks.subarray(i, i + 32));
    return out;
  }

  chunk(hash: Buffer): ChunkLocation | null {
    return this.stmts.getChunk.get(hash) ?? null;
  }

  blob(id: string): BlobRecord | null {
    return this.stmts.getBlob.get(id) ?? null;
  }

  /** Records a fully uploaded blob and the chunks in it, atomically. */
  addBlob(blob: BlobRecord, chunks: Array<{ hash: Buffer } & Omit<ChunkLocation, 'blob'>>): void {
    this.db.transaction(() => {
      this.stmts.putBlob.run(blob.id, blob.size, blob.plain, blob.header);
      for (const c of chunks) this.stmts.putChunk.run(c.hash, blob.id, c.offset, c.length, c.raw);
    })();
  }

  /** Records file signatures after a snapshot is committed. */
  putFiles(files: Array<{ path: string; st: FileState; chunks: Buffer[] }>): void {
    this.db.transaction(() => {
      for (const f of files) this.stmts.putFile.run(f.path, f.st.size, String(f.st.mtimeNs), String(f.st.ctimeNs), String(f.st.inode), Buffer.concat(f.chunks));
    })();
  }

  /** Drops every blob (and its chunks) that is not in `present` (the bucket's blob list). Returns how many were dropped. */
  reconcile(present: Set<string>): number {
    const ids = this.db.prepare<[], { id: string }>('SELECT id FROM blobs').all().map((r) => r.id);
    const gone = ids.filter((id) => !present.has(id));
    if (gone.length === 0) return 0;
    this.db.transaction(() => {
      const delChunks = this.db.prepare('DELETE FROM chunks WHERE blob = ?');
      const delBlob = this.db.prepare('DELETE FROM blobs WHERE id = ?');
      for (const id of gone) {
        delChunks.run(id);
        delBlob.run(id);
      }
    })();
    return gone.length;
  }

  close(): void {
    this.db.close();
  }
}
