import type { BackendCredentials, RepositoryBackend } from '@restic-manager/protocol';

/** The credentials of one backend. */
export type CredentialsOf<B extends RepositoryBackend> = Extract<BackendCredentials, { backend: B }>;
