import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/*
 * Seeds a realistic-looking fleet straight into the server's SQLite store (no agents): hosts
 * with every status, repos, jobs of every kind/status spread over the past days, snapshots,
 * alerts and audit entries. Used by bench/ui.bench.ts (1,000 hosts / 200,000 jobs) and by the
 * browser tests for the screenshot tour. Deterministic for a given `seed`.
 */

export interface SeedOptions {
  hosts: number;
  jobs: number;
  snapshotsPerHost?: number;
  alerts?: number;
  /** "now" for the generated times (ms). */
  now?: number;
  seed?: number;
}

export interface SeedResult {
  hostIds: string[];
  jobIds: string[];
}

// The store's row shapes are the server's; the seed writes plain objects through an untyped handle.
type AnyDb = Kysely<Record<string, Record<string, unknown>>>;

const NAMES = ['web', 'db', 'files', 'mail', 'build', 'cache', 'proxy', 'vault', 'media', 'git'];
const SITES = ['fra', 'ams', 'lon', 'nyc', 'hel'];
const TAGS = ['prod', 'staging', 'db', 'web', 'eu', 'us', 'critical'];
const KINDS = ['backup', 'backup', 'backup', 'backup', 'check', 'forget', 'prune'];

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const uuid = (r: () => number) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
const iso = (ms: number) => new Date(ms).toISOString();

async function insertAll(db: AnyDb, table: string, rows: Record<string, unknown>[]): Promise<void> {
  const cols = Object.keys(rows[0] ?? { x: 1 }).length;
  const batch = Math.max(1, Math.floor(900 / cols));
  for (let i = 0; i < rows.length; i += batch) await db.insertInto(table).values(rows.slice(i, i + batch)).execute();
}

/** Seeds in one transaction (200,000 jobs take seconds, not minutes). */
export async function seedFleet(database: unknown, o: SeedOptions): Promise<SeedResult> {
  return (database as AnyDb).transaction().execute((tx) => seedInto(tx, o));
}

async function seedInto(db: AnyDb, o: SeedOptions): Promise<SeedResult> {
  const r = rng(o.seed ?? 42);
  const now = o.now ?? Date.now();
  const hosts: Record<string, unknown>[] = [];
  const repos: Record<string, unknown>[] = [];
  const hostIds: string[] = [];
  for (let i = 0; i < o.hosts; i++) {
    const id = uuid(r);
    const repoId = uuid(r);
    const name = `${NAMES[i % NAMES.length]}-${SITES[Math.floor(i / NAMES.length) % SITES.length]}-${String(Math.floor(i / 50) + 1).padStart(2, '0')}${o.hosts > 50 ? `-${i}` : ''}`;
    const roll = r();
    const status = roll < 0.78 ? 'online' : roll < 0.86 ? 'degraded' : roll < 0.96 ? 'offline' : 'pending';
    const enrolled = status !== 'pending';
    const size = enrolled ? Math.floor(2e9 + r() * 400e9) : null;
    const snaps = enrolled ? Math.floor(10 + r() * 300) : null;
    const lastStatus = !enrolled ? null : r() < 0.9 ? 'succeeded' : 'failed';
    const tags = [TAGS[Math.floor(r() * TAGS.length)], TAGS[Math.floor(r() * TAGS.length)]].filter((t, k, a) => a.indexOf(t) === k);
    repos.push({
      id: repoId, name, url: `rest:https://backup.example.net:8000/${name}/`, kind: 'rest', credential_id: null, password_secret_id: null,
      size_bytes: size, snapshot_count: snaps, dedup_ratio: enrolled ? 1.2 + r() * 3 : null, last_check_at: enrolled ? iso(now - r() * 7 * 86400e3) : null,
      last_check_status: enrolled ? (r() < 0.95 ? 'succeeded' : 'failed') : null, lock_state: enrolled ? (r() < 0.97 ? 'unlocked' : 'locked') : null,
      append_only: 1, credential_rotated_at: iso(now - 30 * 86400e3), created_at: iso(now - 90 * 86400e3),
    });
    hosts.push({
      id, name, hostname: enrolled ? `${name}.example.net` : null, os: enrolled ? 'linux' : null, arch: enrolled ? (r() < 0.8 ? 'amd64' : 'arm64') : null,
      agent_version: enrolled ? (r() < 0.85 ? '0.1.0' : '0.0.9') : null, restic_version: enrolled ? '0.14.0' : null, protocol_version: enrolled ? 1 : null,
      enrolled_at: enrolled ? iso(now - 60 * 86400e3) : null, last_seen_at: enrolled ? iso(now - (status === 'offline' ? 3 * 3600e3 : r() * 30e3)) : null,
      status, repo_id: enrolled ? repoId : null, tags: JSON.stringify(tags), current_job_id: null,
      last_backup_at: enrolled ? iso(now - r() * 26 * 3600e3) : null, last_backup_status: lastStatus, repo_size_bytes: size, snapshot_count: snaps,
      open_alert_count: 0, schedule_version: 1, applied_schedule_version: enrolled ? 1 : null, agent_token_hash: enrolled ? `seed-${id}` : null,
      repo_initialised_at: enrolled ? iso(now - 60 * 86400e3) : null, created_at: iso(now - 90 * 86400e3),
    });
    hostIds.push(id);
  }
  await insertAll(db, 'repos', repos);
  await insertAll(db, 'hosts', hosts);

  const enrolledIds = hosts.filter((h) => h.enrolled_at).map((h) => h.id as string);
  const jobIds: string[] = [];
  const span = 30 * 86400e3;
  const running = new Map<string, string>();
  for (let start = 0; start < o.jobs; start += 5000) {
    const rows: Record<string, unknown>[] = [];
    for (let i = start; i < Math.min(o.jobs, start + 5000); i++) {
      const id = uuid(r);
      const hostId = enrolledIds[Math.floor(r() * enrolledIds.length)] ?? hostIds[0] ?? '';
      // the last three jobs are still running (a live job page and "Running" links on the dashboard)
      const recent = i >= o.jobs - 3;
      const created = recent ? now - 90e3 : now - Math.floor(((o.jobs - i) / o.jobs) * span) - Math.floor(r() * 60e3);
      const roll = r();
      const status = recent && !running.has(hostId) ? 'running' : roll < 0.9 ? 'succeeded' : roll < 0.97 ? 'failed' : 'cancelled';
      if (status === 'running') running.set(hostId, id);
      const kind = KINDS[Math.floor(r() * KINDS.length)] ?? 'backup';
      const dur = 20e3 + r() * 600e3;
      rows.push({
        id, host_id: hostId, kind, status, schedule_id: null, actor_kind: r() < 0.8 ? 'schedule' : 'user', actor_id: null, args_enc: null,
        created_at: iso(created), started_at: iso(created + 500), finished_at: status === 'running' ? null : iso(created + dur),
        exit_code: status === 'succeeded' ? 0 : status === 'failed' ? 1 : null,
        stats: status === 'succeeded' && kind === 'backup' ? JSON.stringify({ files_new: Math.floor(r() * 500), files_changed: Math.floor(r() * 80), data_added: Math.floor(r() * 5e8), total_files_processed: 12000 + Math.floor(r() * 4000), total_bytes_processed: Math.floor(4e9 + r() * 2e9) }) : null,
        error: status === 'failed' ? 'repository is already locked by PID 4121 on db-fra-01' : null, error_kind: status === 'failed' ? 'lock_failed' : null,
        progress: status === 'running' ? JSON.stringify({ percent_done: 0.42, files_done: 5210, total_files: 12400, bytes_done: 2.1e9, total_bytes: 5e9, eta_seconds: 184, throughput_bps: 38e6 }) : null,
        progress_seq: null, dispatched_at: iso(created),
      });
      jobIds.push(id);
    }
    await insertAll(db, 'jobs', rows);
  }
  for (const [hostId, jobId] of running) await db.updateTable('hosts').set({ current_job_id: jobId }).where('id', '=', hostId).execute();
  // a live-looking log for the running jobs
  const logRows: Record<string, unknown>[] = [];
  for (const jobId of running.values()) {
    logRows.push({ job_id: jobId, seq: 1, ts: iso(now - 89e3), stream: 'event', payload: 'pre_hook: pg_dump --format=custom appdb > /var/backups/appdb.dump' });
    logRows.push({ job_id: jobId, seq: 2, ts: iso(now - 80e3), stream: 'stdout', payload: 'using parent snapshot 5a1c2e9f' });
    for (let k = 0; k < 24; k++) {
      logRows.push({ job_id: jobId, seq: 3 + k, ts: iso(now - 70e3 + k * 2e3), stream: k === 17 ? 'stderr' : 'stdout', payload: k === 17 ? 'error: open /home/alice/.cache/lock: permission denied' : `processing /home/${['alice', 'bob', 'carol'][k % 3]}/projects/report-${k}.pdf` });
    }
  }
  if (logRows.length) await insertAll(db, 'job_logs', logRows);
  const audit: Record<string, unknown>[] = [];
  const actions: [string, string, string][] = [['user', 'job.run', 'job'], ['system', 'agent.command.run', 'job'], ['user', 'host.create', 'host'], ['agent', 'agent.enrolled', 'host'], ['user', 'schedule.update', 'schedule']];
  for (let k = 0; k < Math.min(40, o.jobs); k++) {
    const [actor, action, target] = actions[k % actions.length] ?? actions[0]!;
    audit.push({ user_id: null, actor, actor_name: actor === 'user' ? 'admin' : actor === 'agent' ? 'web-fra-01' : 'system', action, target_kind: target, target_id: target === 'job' ? (jobIds[jobIds.length - 1 - k] ?? null) : (hostIds[k % hostIds.length] ?? null), ts: iso(now - (k + 1) * 3600e3), payload: JSON.stringify(action === 'job.run' ? { kind: 'backup', paths: ['/etc', '/home'] } : {}) });
  }
  if (audit.length) await insertAll(db, 'audit_log', audit);

  const snaps: Record<string, unknown>[] = [];
  const per = o.snapshotsPerHost ?? 0;
  for (const hostId of enrolledIds.slice(0, Math.min(enrolledIds.length, 200))) {
    for (let k = 0; k < per; k++) {
      const id = hex(r, 64);
      snaps.push({
        id, host_id: hostId, repo_id: null, short_id: id.slice(0, 8), time: iso(now - k * 86400e3 - r() * 3600e3), hostname: 'seed', paths: JSON.stringify(['/etc', '/home', '/var/lib/postgresql']),
        tags: JSON.stringify(k % 7 === 0 ? ['weekly'] : ['daily']), size_bytes: Math.floor(3e9 + r() * 1e9), file_count: 12000 + Math.floor(r() * 3000),
      });
    }
  }
  if (snaps.length) await insertAll(db, 'snapshots', snaps);

  const alerts: Record<string, unknown>[] = [];
  const messages: [string, string, string][] = [
    ['backup_failed', 'critical', 'Backup failed: repository is already locked'],
    ['agent_offline', 'warning', 'Agent offline for more than 15 minutes'],
    ['backup_stale', 'warning', 'No successful backup in the last 26 hours'],
    ['check_failed', 'critical', 'restic check reported errors in 2 packs'],
  ];
  for (let k = 0; k < (o.alerts ?? 0); k++) {
    const m = messages[k % messages.length] ?? messages[0]!;
    const hostId = enrolledIds[Math.floor(r() * enrolledIds.length)] ?? null;
    alerts.push({ id: uuid(r), host_id: hostId, kind: m[0], severity: m[1], message: m[2], created_at: iso(now - r() * 86400e3), acknowledged_at: k % 3 === 2 ? iso(now - 600e3) : null, resolved_at: k % 5 === 4 ? iso(now - 300e3) : null });
  }
  if (alerts.length) {
    await insertAll(db, 'alerts', alerts);
    await sql`update hosts set open_alert_count = (select count(*) from alerts where alerts.host_id = hosts.id and alerts.resolved_at is null)`.execute(db);
  }
  return { hostIds, jobIds };
}
