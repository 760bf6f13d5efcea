import type { RepositoryBackend, RepositoryConfig } from '@restic-manager/protocol';
import type { Connection } from '../types.js';
import { BackendConfigError, JobFiles } from './files.js';
import { azurePart, b2Part, gcsPart, s3Part } from './object-stores.js';
import { rclonePart } from './rclone.js';
import { sftpPart } from './sftp.js';

export { BackendConfigError } from './files.js';
export { sftpTarget } from './sftp.js';
export { openErrorKind, type OpenErrorKind } from './open-errors.js';

/** restic location prefixes by backend (an absolute path is a local repository too). */
const PREFIX: Readonly<Record<RepositoryBackend, string>> = {
  local: 'local:', rest: 'rest:', s3: 's3:', b2: 'b2:', azure: 'azure:', gcs: 'gs:', sftp: 'sftp:', rclone: 'rclone:',
};

/**
 * Turns a repository and its backend credentials into the Connection restic needs: secrets in
 * the environment, files (CA bundle, key files, rclone.conf) as 0600 files in `dir`, and only
 * non-secret flags in argv. `dir` must be a private 0700 directory of this user that the caller
 * removes when the job ends (the files live as long as it). Every secret value is listed in
 * `Connection.secrets`, so every line the engine hands out is scrubbed of it.
 *
 * Throws BackendConfigError (naming the field) when the credentials do not fit the location,
 * and Error when `dir` is not private.
 */
export async function materialise(repo: RepositoryConfig, dir: string): Promise<Connection> {
  const files = await JobFiles.at(dir);
  const c = repo.credentials;
  const backend = repo.url.startsWith('/') ? 'local' : (Object.keys(PREFIX) as RepositoryBackend[]).find((b) => repo.url.startsWith(PREFIX[b]));
  if (!backend) throw new BackendConfigError('url', 'an absolute path or a restic location (local:, rest:, s3:, b2:, azure:, gs:, sftp:, rclone:)');
  if (c.backend !== backend) throw new BackendConfigError('credentials.backend', `the URL is a ${backend} location; these credentials are for ${c.backend}`);
  let part: Partial<Connection>;
  switch (c.backend) {
    case 'local': part = {}; break;
    case 'rest': part = { ...(c.username ? { restUsername: c.username } : {}), ...(c.password ? { restPassword: c.password } : {}) }; break;
    case 's3': part = s3Part(c); break;
    case 'b2': part = b2Part(c); break;
    case 'azure': part = azurePart(c); break;
    case 'gcs': part = await gcsPart(c, files); break;
    case 'sftp': part = await sftpPart(repo.url, c, files); break;
    case 'rclone': part = await rclonePart(repo.url, c, files); break;
  }
  const cacert = repo.tls_ca_pem ? await files.write('ca.pem', repo.tls_ca_pem) : undefined;
  return {
    ...part,
    repository: repo.url,
    password: repo.password,
    ...(cacert ? { cacert } : {}),
    secrets: [repo.password, ...(part.secrets ?? [])].filter((s) => s.length > 0),
  };
}
