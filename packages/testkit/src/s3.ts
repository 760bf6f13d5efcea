// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- s3rver ships no types; tests typecheck this file outside the package project
/// <reference path="./s3rver.d.ts" />
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import S3rver from 's3rver';
import { generate } from 'selfsigned';
import { tempDir } from './temp.js';

export interface S3Server {
  /** `https://127.0.0.1:PORT` */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** PEM file of the server's self-signed certificate, for restic `--cacert`. */
  caCertPath: string;
  caCertPem: string;
  /** The first configured bucket. */
  bucket: string;
  /** restic repository URL for a prefix in `bucket`: `s3:https://127.0.0.1:PORT/bucket/prefix`. */
  repoUrl(prefix: string, bucket?: string): string;
  stop(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1/localhost that Go accepts as its own trust root. */
async function selfSignedCert(): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/**
 * s3rver over HTTPS on a free loopback port. restic stores corrupt objects in s3rver over plain
 * HTTP, so HTTPS is the only mode offered. Credentials are s3rver's fixed S3RVER/S3RVER.
 * Data lives in a temp dir that `stop()` removes.
 */
export async function startS3Server(opts: { buckets?: string[] } = {}): Promise<S3Server> {
  const buckets = opts.buckets?.length ? opts.buckets : ['restic-test'];
  const dir = await tempDir('rm-s3-');
  try {
    const { key, cert } = await selfSignedCert();
    const caCertPath = path.join(dir.path, 'ca.pem');
    await writeFile(caCertPath, cert, { mode: 0o600 });
    const server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      key,
      cert,
      silent: true,
      directory: path.join(dir.path, 'data'),
      vhostBuckets: false,
      configureBuckets: buckets.map((name) => ({ name })),
    });
    const addr = await server.run();
    const endpoint = `https://127.0.0.1:${addr.port}`;
    let stopped = false;
    return {
      endpoint,
      region: 'us-east-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      caCertPath,
      caCertPem: cert,
      bucket: buckets[0] ?? 'restic-test',
      repoUrl: (prefix, bucket = buckets[0]) => `s3:${endpoint}/${bucket ?? 'restic-test'}/${prefix.replace(/^\/+/, '')}`,
      async stop() {
        if (stopped) return;
        stopped = true;
        server.httpServer?.closeAllConnections?.();
        await server.close().catch(() => undefined);
        await dir.cleanup();
      },
    };
  } catch (err) {
    await dir.cleanup();
    throw err;
  }
}
