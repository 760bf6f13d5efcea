import { RunJobRequest } from '@restic-manager/protocol';
import type { JobKind } from '@restic-manager/protocol';
import type { z } from 'zod';
import { DomainError } from '../services/errors.js';
import { bandwidthOf, list, parseForm } from './forms.js';
import { databasesFromForm } from './pages/schedule-databases.js';

/** Kinds the host page's "Run now" panel starts (restores, forget and diff have pages of their own). */
const RUN_NOW_KINDS: ReadonlySet<string> = new Set<JobKind>([
  'backup', 'check', 'unlock', 'init', 'prune', 'snapshots', 'stats', 'vault_backup', 'vault_check', 'vault_prune', 'vault_snapshots',
]);

/**
 * Maps the "Run now" form (already nested: `kind`, `args.paths`, `args.tags`, bandwidth limits,
 * database rows, `args.stop_containers`) to the REST API's `RunJobRequest`, validated by the same schema, so the web and
 * REST edges hand the job service the same request. `defaultPaths` gives the paths of the host's
 * first backup schedule, used when the form names none.
 */
export async function runRequestFromForm(f: Record<string, unknown>, defaultPaths: () => Promise<string[]>): Promise<z.infer<typeof RunJobRequest>> {
  const kind = typeof f.kind === 'string' ? f.kind : 'backup';
  if (!RUN_NOW_KINDS.has(kind)) throw new DomainError('validation_failed', `“${kind}” cannot be started from here`, { kind: 'unsupported job kind' });
  const a = (f.args ?? {}) as Record<string, unknown>;
  let args: Record<string, unknown> = {};
  if (kind === 'backup') {
    const given = list(a.paths);
    const tags = list(a.tags);
    const databases = databasesFromForm(a.databases);
    const paths = given.length || databases.length ? given : await defaultPaths();
    if (paths.length === 0 && databases.length === 0) {
      throw new DomainError('validation_failed', 'no paths to back up: enter them in the Run now panel of the host page (or add a backup schedule)', { 'args.paths': 'enter at least one path' });
    }
    const stops = list(a.stop_containers);
    args = { paths, ...(tags.length ? { tags } : {}), ...bandwidthOf(a), ...(databases.length ? { databases } : {}), ...(stops.length ? { stop_containers: stops } : {}) };
  } else if (kind === 'vault_backup') {
    const paths = list(a.paths);
    args = { paths: paths.length ? paths : await defaultPaths() };
  }
  const repositoryId = typeof f.repository_id === 'string' && f.repository_id.trim() !== '' ? f.repository_id.trim() : undefined;
  return parseForm(RunJobRequest, { kind, args, ...(repositoryId ? { repository_id: repositoryId } : {}) });
}
