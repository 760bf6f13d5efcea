/**
 * Global set-up of both vitest projects: one throwaway PostgreSQL cluster (initdb once, testkit's
 * startPostgres) for the whole run, stopped at its end. Workers reach it through
 * `inject('pgAdminUrl')` (test-database.ts) and create a database per server (project `postgres`)
 * or per store-contract case (store engines, both projects). Without PostgreSQL installed the
 * project `sqlite` still runs (the store contract skips PostgreSQL with the reason) and the project
 * `postgres` fails naming what is missing.
 */
import { findPostgres, startPostgres } from '@restic-manager/testkit';
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const found = findPostgres();
  if (!found.ok) {
    project.provide('pgAdminUrl', '');
    project.provide('pgMissing', found.reason);
    return undefined;
  }
  // Every harness holds a pool (RM_DATABASE_POOL, 10 by default) while it runs; two workers with a
  // few servers each stay far below this.
  const srv = await startPostgres(undefined, { maxConnections: 300 });
  project.provide('pgAdminUrl', `postgres://${srv.user}:${encodeURIComponent(srv.password)}@127.0.0.1:${srv.port}/postgres`);
  project.provide('pgMissing', '');
  return () => srv.stop();
}
