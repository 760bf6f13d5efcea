import { LocalStorage, StorageError, type StagedObject } from '../src/storage/index.js';

/**
 * A directory the host may only add objects to, as a bucket policy without DeleteObject and
 * with create-only writes would allow: every delete and every write to an existing key is
 * refused (and counted, so a test can assert the host never even tried).
 */
export class WriteOnceStorage extends LocalStorage {
  refused: string[] = [];
  /** Called before each put; a test may hold the put by returning a promise. */
  beforePut: (key: string) => Promise<void> | void = () => undefined;

  override async put(key: string, data: Buffer | Buffer[], opts: { createOnly?: boolean } = {}): Promise<void> {
    await this.beforePut(key);
    if ((await this.head(key)) !== null) {
      this.refused.push(`overwrite ${key}`);
      throw new StorageError('Denied', `put ${key}: overwrite refused (write-once store)`);
    }
    return super.put(key, data, opts);
  }

  override async stage(): Promise<StagedObject> {
    const staged = await super.stage();
    return {
      ...staged,
      commit: async (key, opts) => {
        if ((await this.head(key)) !== null) {
          this.refused.push(`overwrite ${key}`);
          throw new StorageError('Denied', `put ${key}: overwrite refused (write-once store)`);
        }
        return staged.commit(key, opts);
      },
    };
  }

  override delete(key: string): Promise<void> {
    this.refused.push(`delete ${key}`);
    return Promise.reject(new StorageError('Denied', `delete ${key}: refused (write-once store)`));
  }
}

/** A promise with its resolve function, for holding an operation until the test releases it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/**
 * Holds the host's backup at its commit (the put of the snapshot's `.refs`, its last object):
 * `reached` opens when the backup gets there, and the put goes on once `release` is opened.
 */
export function holdAtCommit(host: WriteOnceStorage): { reached: ReturnType<typeof gate>; release: ReturnType<typeof gate> } {
  const reached = gate();
  const release = gate();
  host.beforePut = async (key) => {
    if (key.endsWith('.refs')) {
      reached.open();
      await release.promise;
    }
  };
  return { reached, release };
}
