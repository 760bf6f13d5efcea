/**
 * Object storage as the vault uses it: immutable objects under string keys
 * (`a/b/c`, no leading slash). Implementations: local directory and S3.
 * Every method either resolves as documented or rejects with a StorageError.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  modified: Date;
}

export type StorageErrorCode =
  /** The key (or the bucket/directory itself, see `NoBucket`) does not exist. */
  | 'NotFound'
  /** A create-only put found the key already present. */
  | 'AlreadyExists'
  /** The bucket or base directory does not exist. */
  | 'NoBucket'
  /** Credentials were refused. */
  | 'Denied'
  /** Anything else (network, server errors) after retries. */
  | 'Failed';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** An object being written in pieces; invisible to readers until commit(). */
export interface StagedObject {
  write(pieces: Buffer[]): Promise<void>;
  /** Makes the object visible at `key` (atomically); same createOnly semantics as put. */
  commit(key: string, opts?: { createOnly?: boolean }): Promise<void>;
  abort(): Promise<void>;
}

export interface Storage {
  /** Human-readable location for messages (never contains credentials). */
  readonly description: string;
  /**
   * Stores `data` (one buffer, or pieces written in order) at `key` atomically: readers see either nothing or the whole object.
   * With `createOnly`, rejects with `AlreadyExists` if the key exists (where the
   * backend can tell; S3 servers without conditional writes silently overwrite).
   */
  put(key: string, data: Buffer | Buffer[], opts?: { createOnly?: boolean }): Promise<void>;
  /**
   * Optional: start an object whose key is decided after its content is written
   * (content-addressed blobs) without holding it in memory.
   */
  stage?(): Promise<StagedObject>;
  /** The whole object; `NotFound` if absent. */
  get(key: string): Promise<Buffer>;
  /** Bytes [start, end) of the object (clamped to its size); `NotFound` if absent. */
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  /** Size and modification time, or null if absent. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object whose key starts with `prefix`, in no particular order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Removes the object; succeeds if it is already absent. */
  delete(key: string): Promise<void>;
  /** Rejects with `NoBucket`/`Denied` if the store cannot be used at all. */
  probe(): Promise<void>;
  /** Total bytes downloaded by get/getRange so far (for tests and benchmarks). */
  readonly bytesRead: number;
}
