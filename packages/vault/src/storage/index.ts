export { StorageError, type ObjectInfo, type Storage, type StorageErrorCode } from './types.js';
export { LocalStorage } from './local.js';
export { S3Storage, type S3StorageOptions } from './s3.js';
