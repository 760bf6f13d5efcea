/**
 * How the e2e harnesses start the server on the run's store: in the vitest project `postgres` a
 * server gets its data dir's own database on the run's PostgreSQL (the same one when a test starts
 * it again on that dir), in the `sqlite` project SQLite in the data dir. A test that names its own
 * `databaseUrl` / RM_DATABASE_URL keeps it.
 */
import { startServer } from '@restic-manager/server';
import type { RunningServer, ServerConfigInput, StartOptions } from '@restic-manager/server';
import { databaseUrlFor } from '../packages/server/test/helpers/test-database.js';

/** `startServer` with the run's store for `config.dataDir`. */
export async function startTestServer(config: ServerConfigInput & { dataDir: string }, opts: StartOptions = {}): Promise<RunningServer> {
  const databaseUrl = config.databaseUrl ?? (await databaseUrlFor(config.dataDir));
  return startServer({ ...config, ...(databaseUrl ? { databaseUrl } : {}) }, opts);
}

/** RM_DATABASE_URL for `restic-manager server` on `dataDir` (nothing on SQLite). */
export async function storeEnv(dataDir: string): Promise<Record<string, string>> {
  const url = await databaseUrlFor(dataDir);
  return url ? { RM_DATABASE_URL: url } : {};
}
