import type { Connection } from '../types.js';
import { BackendConfigError, type JobFiles } from './files.js';
import type { CredentialsOf } from './types.js';

/** The remote of `rclone:<remote>:<path>`. */
export function rcloneRemote(url: string): string {
  const m = /^rclone:([A-Za-z0-9_-]+):/.exec(url);
  if (!m) throw new BackendConfigError('url', 'an rclone location is rclone:<remote>:<path>');
  return m[1]!;
}

/**
 * A one-remote rclone.conf, written 0600 and named by RCLONE_CONFIG: restic starts
 * `rclone serve restic --stdio` itself, which inherits that variable. Values are rclone.conf
 * values as they are (passwords already `rclone obscure`d, as rclone expects); every value is
 * treated as secret.
 */
export async function rclonePart(url: string, c: CredentialsOf<'rclone'>, files: JobFiles): Promise<Partial<Connection>> {
  const remote = rcloneRemote(url);
  const lines = [`[${remote}]`, `type = ${c.remote_type}`];
  for (const [k, v] of Object.entries(c.options)) {
    if (!/^[a-z0-9_]{1,64}$/.test(k)) throw new BackendConfigError(`credentials.options.${k}`, 'rclone option names are lower-case letters, digits and _');
    if (k === 'type') throw new BackendConfigError('credentials.options.type', 'the backend type is remote_type, not an option');
    if (/[\r\n\0]/.test(v)) throw new BackendConfigError(`credentials.options.${k}`, 'one line, no NUL');
    lines.push(`${k} = ${v}`);
  }
  const conf = await files.write('rclone.conf', `${lines.join('\n')}\n`);
  return { env: { RCLONE_CONFIG: conf }, secrets: Object.values(c.options) };
}
