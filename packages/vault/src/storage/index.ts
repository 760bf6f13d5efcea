export { StorageError, type ObjectInfo, type StagedObject, type Storage, type StorageErrorCode } from './types.js';
export { LocalStorage } from './local.js';
export type { S3Storage, S3StorageOptions } from './s3.js';
import type { S3StorageOptions } from './s3.js';
import type { Storage } from './types.js';

/** Creates an S3 storage, loading the AWS SDK only when S3 is actually used (it costs ~40 MB of memory). */
export async function openS3Storage(o: S3StorageOptions): Promise<Storage> {
  const { S3Storage } = await import('./s3.js');
  return new S3Storage(o);
}
