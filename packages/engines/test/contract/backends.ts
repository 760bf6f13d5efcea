import path from 'node:path';
import { startRestServer, startS3Server, tempDir, type RestServer, type S3Server, type TempDir } from '@restic-manager/testkit';
import type { Connection } from '@restic-manager/engines';

/** A place to create repositories: each `repo(name)` is a fresh, not yet initialised location. */
export interface Backend {
  name: 'local' | 'rest' | 's3';
  repo(name: string): Connection;
  /** Secrets this backend puts in a Connection, for the leak tests. */
  secrets: string[];
  stop(): Promise<void>;
}

export type BackendName = Backend['name'];

const REPO_PASSWORD = 'repo-pass-7f3a9c';

export async function startBackend(name: BackendName): Promise<Backend> {
  const tmp: TempDir = await tempDir(`rm-eng-${name}-`);
  const cacheDir = path.join(tmp.path, 'cache');
  if (name === 'local') {
    return {
      name,
      repo: (n) => ({ repository: path.join(tmp.path, n), password: REPO_PASSWORD, cacheDir }),
      secrets: [REPO_PASSWORD],
      stop: () => tmp.cleanup(),
    };
  }
  if (name === 'rest') {
    const users: Record<string, string> = {};
    for (let i = 0; i < 20; i++) users[`u${i}`] = `rest-pass-${i}-c0ffee`;
    const rest: RestServer = await startRestServer({ users, privateRepos: true });
    let next = 0;
    return {
      name,
      repo: () => {
        const user = `u${next++}`;
        return { repository: rest.repoUrl(user), password: REPO_PASSWORD, restUsername: user, restPassword: users[user], cacheDir };
      },
      secrets: [REPO_PASSWORD, ...Object.values(users)],
      stop: async () => {
        await rest.stop();
        await tmp.cleanup();
      },
    };
  }
  const s3: S3Server = await startS3Server({ buckets: ['contract'] });
  return {
    name,
    repo: (n) => ({
      repository: s3.repoUrl(n),
      password: REPO_PASSWORD,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      region: s3.region,
      cacert: s3.caCertPath,
      cacheDir,
    }),
    secrets: [REPO_PASSWORD, s3.secretAccessKey],
    stop: async () => {
      await s3.stop();
      await tmp.cleanup();
    },
  };
}
