/**
 * Where the backups go, from either form of the config: the seed's `s3:` section (or the
 * extension `local_dir:`), or today's vaultik `storage_url:` (`s3://bucket/prefix?endpoint=…&region=…`,
 * `file:///path`). Both forms may appear together when they agree; a contradiction is an error
 * naming both keys. Credentials always come from `s3:` (or the environment), never from the URL.
 */
import os from 'node:os';
import path from 'node:path';

/** `~` and `~/x` expand to the home directory (vaultik does the same); `~user` is not supported. */
export function expandHome(p: string, home = os.homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

export type StorageUrl =
  | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region?: string }
  | { kind: 'file'; path: string };

const S3_QUERY = ['endpoint', 'region', 'use_ssl'];

/** Parses `storage_url`; returns an error message (without the key name) when it is not usable. */
export function parseStorageUrl(raw: string): StorageUrl | string {
  if (raw.startsWith('file://')) {
    const p = expandHome(decodeURIComponent(raw.slice('file://'.length)));
    if (!path.isAbsolute(p)) return 'file:// needs an absolute path (file:///srv/backups or file://~/backups)';
    return { kind: 'file', path: path.normalize(p) };
  }
  if (!raw.startsWith('s3://')) return `unsupported scheme in '${raw.split(':')[0] ?? ''}:' (expected s3:// or file://)`;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'not a valid URL';
  }
  if (!u.hostname) return 's3:// needs a bucket (s3://bucket/prefix)';
  if (u.username || u.password) return 'credentials do not belong in the URL; put them in s3.access_key_id / s3.secret_access_key';
  const unknown = [...u.searchParams.keys()].filter((k) => !S3_QUERY.includes(k));
  if (unknown.length > 0) return `unknown query parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (known: ${S3_QUERY.join(', ')})`;
  const pathPart = decodeURIComponent(u.pathname).replace(/^\/+/, '');
  const out: StorageUrl = { kind: 's3', bucket: u.hostname, prefix: pathPart === '' || pathPart.endsWith('/') ? pathPart : `${pathPart}/` };
  const endpoint = u.searchParams.get('endpoint');
  if (endpoint) {
    const useSsl = u.searchParams.get('use_ssl');
    if (useSsl !== null && useSsl !== 'true' && useSsl !== 'false') return "use_ssl must be 'true' or 'false'";
    out.endpoint = /^https?:\/\//.test(endpoint) ? endpoint : `${useSsl === 'false' ? 'http' : 'https'}://${endpoint}`;
  }
  const region = u.searchParams.get('region');
  if (region) out.region = region;
  return out;
}
