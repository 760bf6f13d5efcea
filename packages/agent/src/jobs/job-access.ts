import type { JobCredential } from '../wire.js';
import type { RepositoryConfig } from '@restic-manager/protocol';
import type { RepoSecrets } from '../state/secrets.js';
import type * as RepoAccess from './repo-access.js';

/** What a job runs against, decided when it is accepted. */
export interface JobAccess {
  /** URL and password (and REST login) of the repository; for a vault job a pseudo one (see below). */
  cred: RepoSecrets;
  /** The job's own repository with its backend credentials (command.run.repository or the schedule's), checked. */
  repo?: RepositoryConfig;
  /** Everything to keep out of the job log and the agent log. */
  secrets: string[];
  /** Jobs with the same key run one at a time. */
  repoKey: string;
}

export interface AccessRefusal {
  error: string;
  errorKind: 'no_credentials' | 'failed';
}

export interface AccessRequest {
  kind: string;
  args: Record<string, unknown>;
  credential?: JobCredential;
  vault?: Record<string, unknown>;
  repository?: RepositoryConfig;
  repositoryId?: string;
}

/** The delivered config of the host's own (primary) repository, when the server sent it in config.update.repositories. */
export function ownRepository(own: RepoSecrets | null, repositories: readonly RepositoryConfig[]): RepositoryConfig | undefined {
  return own ? repositories.find((r) => r.url === own.repository) : undefined;
}

/** Kinds that always act on the host's own repository, whatever credential they carry. */
const SAME_REPO_KINDS: ReadonlySet<string> = new Set(['forget', 'prune', 'check', 'unlock', 'snapshots', 'stats']);

/**
 * Picks a job's repository: a vault job's target; else `command.run.repository`; else the
 * schedule's `repository_id` among the delivered repositories (refused when it is not there);
 * else a one-job credential; else the host's primary credentials (refused before the first
 * config.update). `check` is the protocol's schema check (loaded with the first job).
 */
export function jobAccess(
  req: AccessRequest, own: RepoSecrets | null, repositories: readonly RepositoryConfig[],
  check: Pick<typeof RepoAccess, 'checkRepository' | 'repositorySecrets' | 'RepositoryError'>,
): JobAccess | AccessRefusal {
  let repo: RepositoryConfig | undefined;
  const vault = req.kind.startsWith('vault_');
  if (!vault) {
    // Without a repository of its own (and without a one-job credential), a job runs on the primary:
    // its full config when the server delivered it (an S3, SFTP… primary needs its backend credentials).
    const primary = req.credential ? undefined : ownRepository(own, repositories);
    const chosen = req.repository ?? (req.repositoryId ? repositories.find((r) => r.id === req.repositoryId) : primary);
    if (req.repositoryId && !chosen) {
      return { error: `the schedule's repository ${req.repositoryId} is not among the repositories the server delivered (config.update.repositories)`, errorKind: 'no_credentials' };
    }
    try {
      repo = chosen ? check.checkRepository(chosen, 'repository') : undefined;
    } catch (err) {
      if (err instanceof check.RepositoryError) return { error: `invalid repository: ${err.message}`, errorKind: 'failed' };
      throw err;
    }
  }
  // A vault job needs no restic credential: a pseudo one keys its queue by the vault location
  // and carries the S3 secret key, so the log and job-log redaction cover it too.
  const cred: RepoSecrets | null = vault ? vaultQueueCredential(req.vault)
    : repo ? { repository: repo.url, password: repo.password } : req.credential ?? own;
  if (!cred) return { error: 'no repository credentials yet: the server has not delivered them (config.update); set the host credential on the server', errorKind: 'no_credentials' };
  const secrets = [cred.password, cred.rest_password, ...(repo ? check.repositorySecrets(repo) : []), ...dumpSecrets(req.args)]
    .filter((s): s is string => typeof s === 'string' && s.length > 0);
  // A maintenance credential (forget/prune) may reach the same repository through another
  // endpoint: such jobs queue behind the host's own repository, never beside it.
  const repoKey = req.credential && !repo && own && SAME_REPO_KINDS.has(req.kind) ? own.repository : cred.repository;
  return { cred, ...(repo ? { repo } : {}), secrets, repoKey };
}

/** Database passwords inside backup or db_restore arguments (kept out of the job log and the agent log). */
function dumpSecrets(args: Record<string, unknown> | undefined): string[] {
  const dbs = args?.databases;
  const targets = [...(Array.isArray(dbs) ? dbs : []), ...(args?.connection ? [args.connection] : [])];
  return targets.map((d) => (d as { password?: unknown }).password).filter((p): p is string => typeof p === 'string' && p.length > 0);
}

/** The queue key and secrets of a vault job. */
function vaultQueueCredential(target: Record<string, unknown> | undefined): RepoSecrets {
  const st = (target?.storage ?? {}) as { type?: unknown; path?: unknown; bucket?: unknown; prefix?: unknown; endpoint?: unknown; secret_access_key?: unknown };
  const where = st.type === 'local' ? String(st.path) : `s3:${String(st.endpoint ?? '')}/${String(st.bucket)}/${String(st.prefix ?? '')}`;
  const secret = typeof st.secret_access_key === 'string' && st.secret_access_key.length > 0 ? st.secret_access_key : undefined;
  return { repository: `vault:${where}`, password: '', ...(secret ? { rest_password: secret } : {}) };
}
