import type { Engine } from '@restic-manager/engines';
import type { RepoTest, RepoTestErrorKind, RepoTestResultFrame } from '@restic-manager/protocol';
import type { Logger } from '../log.js';

export interface RepoTestDeps {
  engine: (name?: 'restic' | 'rustic') => Promise<Engine>;
  log: Logger;
  /** Where the request's private credential-file directory is made. */
  jobFilesDir: string;
  /** restic's time to open the repository, ms (default 30 s); running out counts as unreachable. */
  timeoutMs?: number;
}

/** What each kind means to the person who pressed "Test"; restic's own line follows it. */
const MEANING: Record<Exclude<RepoTestErrorKind, 'no_agent'>, string> = {
  wrong_password: 'the repository password is wrong',
  wrong_credentials: 'the storage refused the credentials',
  unknown_bucket: 'the bucket or container does not exist',
  tls: 'the TLS certificate was not accepted (set the CA certificate if the server uses a private CA)',
  host_key_mismatch: "the server's host key does not match the known_hosts given (it changed, or this is another server)",
  unreachable: 'the storage could not be reached',
  not_initialised: 'there is no repository at this location yet (it can be initialised)',
  failed: 'the repository could not be opened',
};

type Answer = Omit<RepoTestResultFrame, 'type' | 'request_id'>;

/**
 * Opens the repository of a `repo.test` request with its credentials (files in a private
 * directory removed afterwards) and lists its snapshots (`restic snapshots --json`, no cache).
 * Never throws: every failure becomes an answer with a specific `error_kind`; messages never
 * carry a secret (restic's lines are redacted with every credential of the request).
 */
export async function testRepository(f: RepoTest, d: RepoTestDeps): Promise<Answer> {
  const fail = (kind: Exclude<RepoTestErrorKind, 'no_agent'>, detail: string): Answer => ({
    ok: false, empty: kind === 'not_initialised', snapshot_count: null, error_kind: kind, error: `${MEANING[kind]}: ${detail}`.slice(0, 4000),
  });
  const access = await import('./repo-access.js');
  let repo;
  try {
    repo = access.checkRepository(f.repository, 'repository');
  } catch (err) {
    if (err instanceof access.RepositoryError) return fail('failed', err.message);
    throw err;
  }
  for (const s of access.repositorySecrets(repo)) d.log.addSecret(s);
  const engine = await d.engine(repo.engine);
  let opened;
  try {
    opened = await access.openRepository(repo, d.jobFilesDir, `test-${f.request_id}`);
  } catch (err) {
    if ((err as Error).name === 'BackendConfigError') return fail('failed', (err as Error).message);
    throw err;
  }
  try {
    const r = await engine.snapshots({ ...opened.conn, noCache: true }, undefined, { timeoutMs: d.timeoutMs ?? 30_000 });
    if (r.ok) return { ok: true, empty: false, snapshot_count: r.value.length, error_kind: null, error: null };
    // Held exclusively (prune, check, key remove): restic got past the password to the lock, so
    // the repository opens; only its snapshots could not be counted now.
    if (r.error.kind === 'lock_failed') return { ok: true, empty: false, snapshot_count: null, error_kind: null, error: null };
    const kind = access.openErrorKind(r.error);
    d.log.info('repository test failed', { repository_id: repo.id, error_kind: kind, error: r.error.message });
    return fail(kind, r.error.message);
  } finally {
    await opened.close();
  }
}
