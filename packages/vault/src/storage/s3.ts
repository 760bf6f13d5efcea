/**
 * S3-compatible object storage via @aws-sdk/client-s3. Large objects go up as
 * multipart uploads (@aws-sdk/lib-storage); create-only puts send If-None-Match: *
 * (servers that ignore it overwrite, which is harmless for content-addressed keys);
 * every request is retried with exponential backoff by the SDK (maxAttempts).
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StorageError, type ObjectInfo, type Storage } from './types.js';

export interface S3StorageOptions {
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix inside the bucket, e.g. `host1/` (may be empty). */
  prefix: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** PEM of a CA to trust for the endpoint (self-signed servers). */
  caCertPem?: string;
  caCertPath?: string;
  forcePathStyle?: boolean;
  maxAttempts?: number;
}

const MULTIPART_THRESHOLD = 8 * 1024 * 1024;

// The SDK's "Node 20 support ends in 2027" notice would break `--cron` silence; it is not actionable per run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function mapError(e: unknown, what: string): StorageError {
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number }; message?: string };
  const name = err.name ?? err.Code ?? '';
  const status = err.$metadata?.httpStatusCode;
  if (name === 'NoSuchBucket') return new StorageError('NoBucket', `bucket does not exist (${what})`, { cause: e });
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new StorageError('NotFound', `${what}: not found`, { cause: e });
  if (name === 'PreconditionFailed' || status === 412) return new StorageError('AlreadyExists', `${what}: already exists`, { cause: e });
  if (name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || status === 403) {
    return new StorageError('Denied', `${what}: access denied (check the S3 access key and secret)`, { cause: e });
  }
  return new StorageError('Failed', `${what}: ${name || 'error'}${err.message ? `: ${err.message}` : ''}`, { cause: e });
}

export class S3Storage implements Storage {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly endpoint: string;
  bytesRead = 0;

  constructor(o: S3StorageOptions) {
    const ca = o.caCertPem ?? (o.caCertPath ? readFileSync(o.caCertPath, 'utf8') : undefined);
    this.client = new S3Client({
      region: o.region,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      forcePathStyle: o.forcePathStyle ?? Boolean(o.endpoint),
      maxAttempts: o.maxAttempts ?? 5,
      ...(o.accessKeyId && o.secretAccessKey ? { credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey } } : {}),
      requestHandler: { httpsAgent: new Agent({ keepAlive: true, maxSockets: 16, ...(ca ? { ca } : {}) }) },
    });
    this.bucket = o.bucket;
    this.prefix = o.prefix;
    this.endpoint = o.endpoint ?? `s3.${o.region}.amazonaws.com`;
  }

  get description(): string {
    return `s3 ${this.endpoint} bucket ${this.bucket}${this.prefix ? ` prefix ${this.prefix}` : ''}`;
  }

  private k(key: string): string {
    return this.prefix + key;
  }

  async probe(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      const m = mapError(e, `bucket ${this.bucket}`);
      if (m.code === 'NotFound') throw new StorageError('NoBucket', `bucket ${this.bucket} does not exist at ${this.endpoint}`, { cause: e });
      // A write-only host's key may list only its own prefix, which HeadBucket cannot show.
      if (m.code === 'Denied' && (await this.canListPrefix())) return;
      throw m;
    }
  }

  /** Lists `<prefix>prune/` (small, and read by every backup anyway). */
  private async canListPrefix(): Promise<boolean> {
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}prune/` }));
      return true;
    } catch {
      return false;
    }
  }

  async put(key: string, pieces: Buffer | Buffer[], opts: { createOnly?: boolean } = {}): Promise<void> {
    const data = Array.isArray(pieces) ? Buffer.concat(pieces) : pieces;
    const params = { Bucket: this.bucket, Key: this.k(key), Body: data, ...(opts.createOnly ? { IfNoneMatch: '*' } : {}) };
    try {
      if (data.length <= MULTIPART_THRESHOLD) {
        await this.client.send(new PutObjectCommand(params));
      } else {
        await new Upload({ client: this.client, params, partSize: MULTIPART_THRESHOLD, queueSize: 2, leavePartsOnError: false }).done();
      }
    } catch (e) {
      throw mapError(e, `put ${key}`);
    }
  }

  private async read(key: string, range?: string): Promise<Buffer> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.k(key), ...(range ? { Range: range } : {}) }));
    const bytes = Buffer.from((await res.Body?.transformToByteArray()) ?? new Uint8Array());
    this.bytesRead += bytes.length;
    return bytes;
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await this.read(key);
    } catch (e) {
      throw mapError(e, `get ${key}`);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    if (end <= start) return Buffer.alloc(0);
    try {
      return await this.read(key, `bytes=${start}-${end - 1}`);
    } catch (e) {
      const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (err.name === 'InvalidRange' || err.$metadata?.httpStatusCode === 416) return Buffer.alloc(0);
      throw mapError(e, `get ${key}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.k(key) }));
      return { key, size: r.ContentLength ?? 0, modified: r.LastModified ?? new Date(0) };
    } catch (e) {
      const m = mapError(e, `head ${key}`);
      if (m.code === 'NotFound') return null;
      throw m;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      let r;
      try {
        r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.k(prefix), ...(token ? { ContinuationToken: token } : {}) }));
      } catch (e) {
        throw mapError(e, `list ${prefix || '(all)'}`);
      }
      for (const o of r.Contents ?? []) {
        if (!o.Key?.startsWith(this.prefix)) continue;
        yield { key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) };
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.k(key) }));
    } catch (e) {
      const m = mapError(e, `delete ${key}`);
      if (m.code !== 'NotFound') throw m;
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}
