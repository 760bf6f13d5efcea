/**
 * A directory as object storage: key `a/b` is file `<root>/a/b`. Objects are written in
 * `<root>/.staging/` and linked (create-only) or renamed into place, so the host never
 * unlinks or rewrites anything outside `.staging/`.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StorageError, type ObjectInfo, type StagedObject, type Storage } from './types.js';

const STAGING = '.staging';

function checkKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new StorageError('Failed', `invalid object key '${key}'`);
  }
}

function wrap(e: unknown, key: string): StorageError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new StorageError('NotFound', `object ${key} not found`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM') return new StorageError('Denied', `permission denied on ${key}`, { cause: e });
  return new StorageError('Failed', `storage error on ${key}: ${(e as Error).message}`, { cause: e });
}

/** Moves a finished temp file into place; create-only uses link(2), which fails if the key exists. */
async function place(tmp: string, file: string, key: string, createOnly: boolean): Promise<void> {
  if (!createOnly) return rename(tmp, file);
  try {
    await link(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new StorageError('AlreadyExists', `object ${key} already exists`);
    throw e;
  }
  await unlink(tmp);
}

export class LocalStorage implements Storage {
  readonly root: string;
  bytesRead = 0;
  private staleCleaned = false;
  constructor(root: string) {
    this.root = path.resolve(root);
  }
  get description(): string {
    return `local directory ${this.root}`;
  }
  private file(key: string): string {
    checkKey(key);
    return path.join(this.root, ...key.split('/'));
  }
  async probe(): Promise<void> {
    try {
      if (!(await stat(this.root)).isDirectory()) throw new StorageError('NoBucket', `${this.root} is not a directory`);
    } catch (e) {
      if (e instanceof StorageError) throw e;
      throw new StorageError('NoBucket', `storage directory ${this.root} does not exist`, { cause: e });
    }
  }
  async put(key: string, data: Buffer | Buffer[], opts: { createOnly?: boolean } = {}): Promise<void> {
    const file = this.file(key);
    await this.probe();
    await mkdir(path.dirname(file), { recursive: true });
    // The temporary file lives in .staging/, never beside the key: a directory where objects
    // may only be added (chattr +a, a write-only bind) allows link(2) in, not unlink(2).
    await mkdir(path.join(this.root, STAGING), { recursive: true });
    const tmp = path.join(this.root, STAGING, `${randomBytes(8).toString('hex')}.tmp`);
    try {
      const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      try {
        if (Array.isArray(data)) {
          for (let i = 0; i < data.length; i += 512) await fh.writev(data.slice(i, i + 512));
        } else await writeFile(fh, data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await place(tmp, file, key, opts.createOnly === true);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e instanceof StorageError ? e : wrap(e, key);
    }
  }
  /** Writes into `<root>/.staging/` (never listed); commit links the file into place. */
  async stage(): Promise<StagedObject> {
    const dir = path.join(this.root, STAGING);
    if (!this.staleCleaned) {
      await this.probe();
      await mkdir(dir, { recursive: true });
      // Leftovers of killed backups: never visible to readers, safe to drop after an hour.
      this.staleCleaned = true;
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const f = path.join(dir, name);
        const st = await stat(f).catch(() => null);
        if (st && Date.now() - st.mtimeMs > 3_600_000) await rm(f, { force: true });
      }
    }
    const tmp = path.join(dir, `${randomBytes(8).toString('hex')}.tmp`);
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    let closed = false;
    const close = async (): Promise<void> => {
      if (!closed) {
        closed = true;
        await fh.close();
      }
    };
    return {
      write: async (pieces) => {
        for (let i = 0; i < pieces.length; i += 512) await fh.writev(pieces.slice(i, i + 512));
      },
      commit: async (key, opts = {}) => {
        const file = this.file(key);
        try {
          await fh.sync();
          await close();
          await mkdir(path.dirname(file), { recursive: true });
          await place(tmp, file, key, opts.createOnly === true);
        } catch (e) {
          await rm(tmp, { force: true });
          throw e instanceof StorageError ? e : wrap(e, key);
        }
      },
      abort: async () => {
        await close().catch(() => undefined);
        await rm(tmp, { force: true });
      },
    };
  }

  async get(key: string): Promise<Buffer> {
    try {
      const b = await readFile(this.file(key));
      this.bytesRead += b.length;
      return b;
    } catch (e) {
      throw e instanceof StorageError ? e : wrap(e, key);
    }
  }
  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    let fh;
    try {
      fh = await open(this.file(key), 'r');
      const size = (await fh.stat()).size;
      const s = Math.min(start, size);
      const len = Math.max(0, Math.min(end, size) - s);
      const buf = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, s + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      this.bytesRead += got;
      return buf.subarray(0, got);
    } catch (e) {
      throw e instanceof StorageError ? e : wrap(e, key);
    } finally {
      await fh?.close();
    }
  }
  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const s = await stat(this.file(key));
      return { key, size: s.size, modified: s.mtime };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e instanceof StorageError ? e : wrap(e, key);
    }
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    await this.probe();
    const walk = async function* (dir: string, rel: string): AsyncGenerator<ObjectInfo> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw wrap(e, rel);
      }
      for (const ent of entries) {
        const key = rel ? `${rel}/${ent.name}` : ent.name;
        if (ent.name === STAGING && rel === '') continue;
        if (ent.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix) || prefix.startsWith(key)) yield* walk(path.join(dir, ent.name), key);
        } else if (ent.isFile() && key.startsWith(prefix) && !/\.tmp-[0-9a-f]{12}$/.test(ent.name)) {
          // Deleted between readdir and stat (a concurrent prune): not listed.
          const s = await stat(path.join(dir, ent.name)).catch((e: unknown) => {
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
            throw wrap(e, key);
          });
          if (s) yield { key, size: s.size, modified: s.mtime };
        }
      }
    };
    yield* walk(this.root, '');
  }
  async delete(key: string): Promise<void> {
    try {
      await unlink(this.file(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw wrap(e, key);
    }
  }
}
