/**
 * Global set-up of the vitest project `postgres`: one throwaway PostgreSQL cluster (initdb once,
 * testkit's startPostgres) for the whole run, stopped at its end. Workers reach it through
 * `inject('pgAdminUrl')` (test-database.ts) and create a database per server.
 */
import { startPostgres } from '@restic-manager/testkit';
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Every harness holds a pool (RM_DATABASE_POOL, 10 by default) while it runs; two workers with a
  // few servers each stay far below this.
  const srv = await startPostgres(undefined, { maxConnections: 300 });
  project.provide('pgAdminUrl', `postgres://${srv.user}:${encodeURIComponent(srv.password)}@127.0.0.1:${srv.port}/postgres`);
  return () => srv.stop();
}
