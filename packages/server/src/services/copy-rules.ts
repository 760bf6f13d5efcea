import type { CopyState } from '@restic-manager/protocol';
import type { RepoRow } from '../repositories/repo.repository.js';
import { DomainError } from './errors.js';

/*
 * The rules of copies (3-2-1, docs/copies.md) as plain functions: which source/target pairs are
 * refused, what counts as off-site, and the state of one policy for one host. Shared by the copy
 * policy service and the job service (a `copy` job run by hand obeys the same refusals).
 */

/** Refuses a copy from `source` into `target` (400 naming `target_repository_id`). */
export function checkCopyPair(source: Pick<RepoRow, 'id' | 'engine'>, target: Pick<RepoRow, 'id' | 'engine'>): void {
  if (source.id === target.id) {
    throw new DomainError('validation_failed', 'target_repository_id: a repository cannot be copied into itself', { target_repository_id: 'the same repository as the source' });
  }
  if (source.engine !== target.engine) {
    throw new DomainError('validation_failed', `target_repository_id: the source is a ${source.engine} repository and the target a ${target.engine} one; copies stay within one engine`, { target_repository_id: `must be a ${source.engine} repository` });
  }
}

/**
 * Where a location lives, beyond its backend: the server of a REST, S3 or SFTP URL, the bucket
 * or container of B2, Azure and GCS, the remote of rclone; null for a local path.
 */
export function locationHost(url: string, backend: string | null): string | null {
  const rest = url.slice(url.indexOf(':') + 1);
  switch (backend) {
    case 'rest':
    case 's3': {
      const noScheme = rest.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/^\/\//, '');
      const authority = noScheme.split('/')[0] ?? '';
      return authority.slice(authority.lastIndexOf('@') + 1).toLowerCase() || null;
    }
    case 'sftp': {
      const noScheme = rest.replace(/^sftp:\/\//i, '').replace(/^\/\//, '');
      const authority = (noScheme.split(/[:/]/)[0] ?? '');
      return authority.slice(authority.lastIndexOf('@') + 1).toLowerCase() || null;
    }
    case 'b2':
    case 'azure':
    case 'gcs':
    case 'rclone':
      return rest.split(':')[0]?.toLowerCase() || null;
    default:
      return null;
  }
}

/** Off-site: the target is on another backend than the source, or on the same backend at another host. */
export function isOffsite(source: Pick<RepoRow, 'url' | 'backend'>, target: Pick<RepoRow, 'url' | 'backend'>): boolean {
  if ((source.backend ?? 'local') !== (target.backend ?? 'local')) return true;
  const a = locationHost(source.url, source.backend);
  const b = locationHost(target.url, target.backend);
  return a !== null && b !== null && a !== b;
}

/** How long a copy may lag the first backup it has not copied yet: twice the longer interval, else 24 h. */
export function copyGraceMs(intervalsMs: readonly number[]): number {
  const longest = intervalsMs.filter((n) => Number.isFinite(n) && n > 0).reduce((a, b) => Math.max(a, b), 0);
  return longest > 0 ? 2 * longest : 24 * 3_600_000;
}

/**
 * The state of one policy for one host. `failing`: the last copy failed. `never`: no copy
 * succeeded yet. `behind`: the first successful backup since the last successful copy finished
 * more than `graceMs` ago. Otherwise `up_to_date` (including a backup a copy has not caught up
 * with yet, within the grace).
 */
export function copyState(run: { last_copy_status: string | null; last_success_at: string | null } | undefined, firstUncopiedBackupAt: string | null, now: number, graceMs: number): CopyState {
  if (run?.last_copy_status === 'failed') return 'failing';
  if (!run?.last_success_at) return 'never';
  if (firstUncopiedBackupAt && now - Date.parse(firstUncopiedBackupAt) > graceMs) return 'behind';
  return 'up_to_date';
}

const RANK: Record<CopyState, number> = { failing: 3, behind: 2, never: 1, up_to_date: 0 };
/** The worst of several states (failing > behind > never > up_to_date); `none` for no policy. */
export function worstState(states: readonly CopyState[]): CopyState | 'none' {
  if (states.length === 0) return 'none';
  return states.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
}
