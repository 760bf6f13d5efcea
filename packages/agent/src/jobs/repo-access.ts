import { RepositoryConfig as RepositoryConfigSchema, credentialSecrets } from '@restic-manager/protocol';
import type { RepositoryConfig } from '@restic-manager/protocol';
import { materialise } from '@restic-manager/engines';
import type { Connection } from '@restic-manager/engines';
import { openJobDir } from '../state/job-files.js';

export { openErrorKind } from '@restic-manager/engines';

/** A repository from the server that does not pass the protocol's schema; the message names the field, never a value. */
export class RepositoryError extends Error {}

/**
 * Checks a repository (command.run.repository, config.update.repositories, repo.test) with the
 * protocol's schema; the wire layer only checked its outline. Loaded with the first job, so an
 * idle agent never builds zod.
 */
export function checkRepository(v: RepositoryConfig, at: string): RepositoryConfig {
  const r = RepositoryConfigSchema.safeParse(v);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new RepositoryError(`${at}.${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'}`);
}

/** The repository password and every secret credential field, for the log and job-log redaction. */
export function repositorySecrets(r: RepositoryConfig): string[] {
  return credentialSecrets(r.credentials, r.password);
}

export interface OpenRepository {
  conn: Connection;
  /** Removes the job's credential files (idempotent, never throws). */
  close(): Promise<void>;
}

/**
 * A Connection for `r` whose credential files live in a fresh private directory below `root`
 * (state/job-files.ts); the caller must `close()` it when the job ends, in a finally. Throws
 * BackendConfigError (naming the field) when the credentials do not fit the location.
 */
export async function openRepository(r: RepositoryConfig, root: string, label: string): Promise<OpenRepository> {
  const dir = await openJobDir(root, label);
  try {
    return { conn: await materialise(r, dir.path), close: dir.remove };
  } catch (err) {
    await dir.remove();
    throw err;
  }
}
