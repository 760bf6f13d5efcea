import type { DbRestoreRequest } from '@restic-manager/protocol';
import { DUMP_FILE, dumpFamily, REDIS_NO_RESTORE } from '@restic-manager/protocol';
import type { Actor, ServiceDeps } from './context.js';
import { DomainError, notFound } from './errors.js';
import type { JobService } from './job.service.js';
import { agentHasFeature } from './schedule-databases.js';

const invalid = (field: string, message: string): DomainError => new DomainError('validation_failed', `${field}: ${message}`, { [field]: message });

/** What a stored snapshot says about the dump it holds, or why it is not a restorable dump. */
export function dumpOfSnapshot(tags: readonly string[], paths: readonly string[]): { engine: string; database: string; file: string } | string {
  const engine = tags.find((t) => t.startsWith('db:'))?.slice(3);
  const database = tags.find((t) => t.startsWith('db-name:'))?.slice(8);
  if (!engine || !database) return 'is not a database dump (it has no db:<engine> and db-name:<database> tags)';
  if (database === '_globals') return 'holds roles and tablespaces (pg_dumpall --globals-only), not a database: restore it with psql by hand';
  const file = paths.length === 1 ? paths[0]! : '';
  const m = DUMP_FILE.exec(file);
  if (!m || m[1] !== engine || m[2] !== database) return `does not hold /${engine}/${database}.<sql|dump|rdb|db|archive> (paths: ${paths.join(', ') || 'none'})`;
  return { engine, database, file };
}

/**
 * `POST /api/hosts/:id/restore/database`: a database snapshot of this host restored into a
 * database server reachable from it (docs/databases.md "Restoring a dump"). The job runs on the
 * host's own agent with its own repository; the connection password is sealed with the job's
 * arguments and shown nowhere (`has_password` in the audit entry).
 */
export class DbRestoreService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly jobs: JobService,
  ) {}

  async submit(actor: Actor, hostId: string, body: DbRestoreRequest) {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    if (host.last_seen_at !== null && !agentHasFeature(host, 'db_restore')) {
      throw new DomainError('invalid_state', `the agent on ${host.name} (version ${host.agent_version ?? 'unknown'}) predates database restores: upgrade the agent`);
    }
    const want = body.snapshot_id.toLowerCase();
    const hits = await this.d.repos.snapshots.findByPrefix(hostId, want);
    const snap = hits.length === 1 ? hits[0] : hits.find((h) => h.id === want);
    if (!snap) throw invalid('snapshot_id', `snapshot ${body.snapshot_id} is not among the snapshots of host ${host.name} (refresh them with a snapshots job)`);
    const dump = dumpOfSnapshot(JSON.parse(snap.tags) as string[], JSON.parse(snap.paths) as string[]);
    if (typeof dump === 'string') throw invalid('snapshot_id', `snapshot ${snap.short_id} ${dump}`);
    if (dump.engine === 'redis') throw invalid('snapshot_id', `snapshot ${snap.short_id}: ${REDIS_NO_RESTORE}`);
    const engine = body.connection.engine ?? dump.engine;
    if (dumpFamily(engine) !== dumpFamily(dump.engine)) throw invalid('connection.engine', `snapshot ${snap.short_id} is a ${dump.engine} dump; it cannot be restored into ${engine}`);
    if (body.create && engine !== 'postgres') throw invalid('create', 'create applies to postgres only (a MariaDB dump creates its database itself)');
    const args = { snapshot_id: snap.id, file: dump.file, connection: { ...body.connection, engine }, database: body.database ?? dump.database, create: body.create };
    return this.jobs.runNow(actor, hostId, 'db_restore', args, { auditExtra: { snapshot_id: snap.id, source_database: dump.database } });
  }
}
