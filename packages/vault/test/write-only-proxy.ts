/**
 * A loopback S3 proxy that gives the host's key the write-only policy of docs/vault-format.md
 * ("Bucket policy and S3 Object Lock"): every DELETE of an object and every write to a key that
 * already exists (PUT, CopyObject, CompleteMultipartUpload) is refused with 403 AccessDenied, as
 * are HeadBucket, listing outside `prefix` and reading any object outside `<prefix>prune/`.
 * New objects, multipart parts, aborting an upload, listing the prefix and reading prune lists
 * are passed to the real server. The trusted key talks to the server directly.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface WriteOnlyProxy {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** Requests refused so far, e.g. `DELETE host1/blobs/ab/…`. */
  refused: string[];
  stop(): Promise<void>;
}

/** `exists(bucketKey)` answers whether `<bucket>/<key>` is already stored upstream. */
export async function startWriteOnlyProxy(upstream: string, caPem: string, prefix: string, exists: (bucket: string, key: string) => Promise<boolean>): Promise<WriteOnlyProxy> {
  const up = new URL(upstream);
  const refused: string[] = [];
  const inFlight = new Set<string>();
  const deny = (res: http.ServerResponse, what: string): void => {
    refused.push(what);
    res.writeHead(403, { 'content-type': 'application/xml' });
    res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>write-only key</Message></Error>');
  };
  const forward = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const out = https.request(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers, ca: caPem },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    out.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(out);
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const q = url.searchParams;
    const what = `${req.method ?? ''} ${key}`;
    if (req.method === 'DELETE' && !q.has('uploadId')) return deny(res, what);
    if (key === '' && req.method === 'HEAD') return deny(res, `HeadBucket ${bucket}`);
    if (key === '' && req.method === 'GET' && !(q.get('prefix') ?? '').startsWith(prefix)) return deny(res, `LIST ${q.get('prefix') ?? ''}`);
    if (key !== '' && (req.method === 'GET' || req.method === 'HEAD') && !key.startsWith(`${prefix}prune/`)) return deny(res, what);
    if (req.method === 'POST' && q.has('delete')) return deny(res, `DeleteObjects ${bucket}`);
    const writesKey = key !== '' && ((req.method === 'PUT' && !q.has('partNumber')) || (req.method === 'POST' && q.has('uploadId')));
    if (!writesKey) return forward(req, res);
    if (req.headers['x-amz-copy-source']) return deny(res, `COPY ${key}`);
    if (inFlight.has(key)) return deny(res, `concurrent ${what}`);
    inFlight.add(key);
    req.pause();
    exists(bucket, key).then(
      (found) => {
        if (found) {
          inFlight.delete(key);
          req.resume();
          return deny(res, `overwrite ${what}`);
        }
        res.on('close', () => inFlight.delete(key));
        forward(req, res);
        req.resume();
      },
      () => {
        inFlight.delete(key);
        res.writeHead(502);
        res.end();
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refused,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
