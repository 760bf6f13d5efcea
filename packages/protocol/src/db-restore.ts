import { z } from 'zod';
import { DatabaseTargetFields, engineIssues } from './server-messages.js';

/*
 * Database restore (docs/databases.md "Restoring a dump"): a `db_restore` job streams one dump
 * snapshot (`restic dump`) into psql / pg_restore / mariadb on the agent's host.
 */

const dbName = DatabaseTargetFields.shape.database.unwrap();
const snapshotId = z.string().min(8).max(64).regex(/^[0-9a-f]+$/, 'a snapshot id is hex digits');

/** Where to restore into: a database server as in a dump target (no database, all, format, globals). */
export const DbConnectionFields = DatabaseTargetFields.pick({ engine: true, host: true, port: true, user: true, password: true, container: true, run_as: true, path: true, password_env: true });
const noRunAsInContainer = (c: { run_as?: string | undefined; container?: string | undefined }): boolean => !(c.run_as && c.container);
const runAsIssue = { message: 'run_as does not apply to a container (docker exec runs as the container user)', path: ['run_as'] };
export const DbConnection = DbConnectionFields.refine(noRunAsInContainer, runAsIssue).superRefine((c, ctx) => {
  for (const i of engineIssues(c)) ctx.addIssue({ code: 'custom', ...i });
  if (c.engine === 'redis') ctx.addIssue({ code: 'custom', path: ['engine'], message: REDIS_NO_RESTORE });
});
export type DbConnection = z.infer<typeof DbConnection>;

/**
 * The snapshot file of a dump: `/<engine>/<database>.<ext>`: `.sql` (`.dump`: pg_dump custom
 * format) for the SQL servers, `.rdb` for redis, `.db` for sqlite, `.archive` for mongodb.
 */
export const DUMP_FILE = /^\/(postgres|mariadb|mysql|redis|sqlite|mongodb)\/([^/]+)\.(sql|dump|rdb|db|archive)$/;

/** The file extension(s) each engine's dumps have. */
export const DUMP_EXTENSIONS: Record<string, readonly string[]> = { postgres: ['sql', 'dump'], mariadb: ['sql'], mysql: ['sql'], redis: ['rdb'], sqlite: ['db'], mongodb: ['archive'] };

/** The restore family of an engine: a dump restores only into its own family. */
export const dumpFamily = (e: string): string => (e === 'mysql' ? 'mariadb' : e);

/** Why a Redis RDB is not restored by a job (docs/databases.md "Redis"). */
export const REDIS_NO_RESTORE = 'a Redis RDB cannot be loaded through redis-cli: restore the file /redis/<name>.rdb with a file restore, stop redis-server, put it in place of its dump.rdb and start it again';

/**
 * `command.run.args` of a `db_restore` job. The server fills `file` from the snapshot it checked
 * (a database snapshot of this host); `connection.password` is a secret (agent: tool environment
 * only; server: sealed with the job's arguments). `create` (postgres only) creates `database`
 * first and drops it again when the restore fails.
 */
export const DbRestoreArgs = z
  .object({
    snapshot_id: snapshotId,
    file: z.string().max(300).regex(DUMP_FILE, 'a dump file /<engine>/<database>.sql, .dump, .db or .archive'),
    connection: DbConnection,
    database: dbName,
    create: z.boolean().default(false),
  })
  .strict()
  .superRefine((a, ctx) => {
    const pg = a.connection.engine === 'postgres';
    if (a.create && !pg) ctx.addIssue({ code: 'custom', path: ['create'], message: 'create applies to postgres only (a MariaDB dump creates its database itself)' });
    const m = DUMP_FILE.exec(a.file);
    if (m && dumpFamily(m[1]!) !== dumpFamily(a.connection.engine)) ctx.addIssue({ code: 'custom', path: ['connection', 'engine'], message: `the dump is a ${m[1]!} dump` });
    if (m && !DUMP_EXTENSIONS[m[1]!]!.includes(m[3]!)) ctx.addIssue({ code: 'custom', path: ['file'], message: `a ${m[1]!} dump is never .${m[3]!}` });
  });
export type DbRestoreArgs = z.infer<typeof DbRestoreArgs>;

/**
 * `POST /api/hosts/:id/restore/database` (operator). `snapshot_id` must be a database snapshot of
 * this host (tags `db:<engine>`, `db-name:<db>`). `connection.engine` defaults to the snapshot's;
 * `database` defaults to the original name. The password is never returned.
 */
export const DbRestoreRequest = z
  .object({
    snapshot_id: snapshotId,
    connection: DbConnectionFields.partial({ engine: true }).refine(noRunAsInContainer, runAsIssue).default({}),
    database: dbName.optional(),
    create: z.boolean().default(false),
  })
  .strict();
export type DbRestoreRequest = z.infer<typeof DbRestoreRequest>;
