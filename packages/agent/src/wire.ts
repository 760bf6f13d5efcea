/**
 * A light validator for server -> agent frames, without zod. Why not the zod schemas of
 * @restic-manager/protocol: building them costs ~11 MB of RSS, a quarter of the idle agent's
 * budget (spec §4.2: <= 50 MB). The constants come from the protocol's zod-free entry
 * (`@restic-manager/protocol/wire`), the types with `import type`; command.run arguments are
 * still validated with the protocol's zod schemas, loaded lazily when the first job arrives.
 */
import type {
  DatabaseTarget, JobCredential, JobKind, RepoKeyAdd, RepoKeyRemove, RepoTest, RepositoryConfig, ScheduleKind, ScheduleSet, ScheduleSpec, ServerMessage, SnapshotLs, VaultJobTarget,
  ForgetPreview, RetentionPolicy, SnapshotDiff, DownloadCancel, DownloadCredit, DownloadStart,
} from '@restic-manager/protocol';

import { DOWNLOAD_MAX_WINDOW, MAX_FRAME_BYTES } from '@restic-manager/protocol/wire';
import type { Weekday as ScheduleWindowDay } from '@restic-manager/protocol/windows';

export { AGENT_FRAME_RATE, CloseCode, MAX_FRAME_BYTES, PROTOCOL_VERSION, SUPPORTED_SERVER_PROTOCOL_VERSIONS } from '@restic-manager/protocol/wire';

/** Every job kind, for the light validator; the compile-time check below keeps it equal to the protocol's. */
export const JOB_KINDS = [
  'init', 'backup', 'forget', 'prune', 'check', 'unlock', 'snapshots', 'stats', 'diff', 'restore',
  'vault_backup', 'vault_snapshots', 'vault_prune', 'vault_check', 'db_restore', 'copy', 'restore_drill', 'vault_drill',
] as const satisfies readonly JobKind[];
type MissingKinds = Exclude<JobKind, (typeof JOB_KINDS)[number]>;
/** Fails to compile when the protocol gains a job kind this list lacks. */
export const JOB_KINDS_COMPLETE: MissingKinds extends never ? true : MissingKinds = true;
/** Schedules the agent fires itself (vault schedules fire on the server's clock). */
const SCHEDULE_KINDS = ['backup', 'forget', 'prune', 'check'] as const satisfies readonly ScheduleKind[];

export type { JobCredential, JobKind, ScheduleSpec } from '@restic-manager/protocol';

/** Request frames (docs/protocol.md, "Requests"): answered once, never journalled. */
export type RequestFrame = SnapshotLs | RepoKeyAdd | RepoKeyRemove | RepoTest | SnapshotDiff | ForgetPreview;

/** Download frames (docs/protocol.md, "Downloads"): a start, then credits or a cancel for it. */
export type DownloadFrame = DownloadStart | DownloadCredit | DownloadCancel;

export type ScheduleSetFrame = ScheduleSet;

/**
 * What the agent acts on: every server → agent message of the protocol, plus one that is not a
 * wire type: a command.run whose kind this agent does not know (reported as a failed job).
 */
export type ServerFrame = ServerMessage | { type: 'command.unsupported'; job_id: string; kind: string };

export type FrameResult<T> = { ok: true; value: T } | { ok: false; message: string };

class Bad extends Error {}
type Obj = Record<string, unknown>;

const obj = (v: unknown, at: string): Obj => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Bad(`${at}: expected an object`);
  return v as Obj;
};
const str = (o: Obj, k: string, at: string, min = 0): string => {
  const v = o[k];
  if (typeof v !== 'string' || v.length < min) throw new Bad(`${at}${k}: expected a string`);
  return v;
};
/** An optional boolean: true only when set to true. */
const bool = (o: Obj, k: string, at: string): boolean => {
  if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new Bad(`${at}${k}: expected a boolean`);
  return o[k] === true;
};
const optStr = (o: Obj, k: string, at: string): string | undefined => (o[k] === undefined ? undefined : str(o, k, at));
const nullStr = (o: Obj, k: string, at: string): string | null => (o[k] === undefined || o[k] === null ? null : str(o, k, at));
const int = (o: Obj, k: string, at: string): number => {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Bad(`${at}${k}: expected a non-negative integer`);
  return v;
};
const strList = (o: Obj, k: string, at: string): string[] => {
  const v = o[k] ?? [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Bad(`${at}${k}: expected a list of strings`);
  return v as string[];
};

const hex = (o: Obj, k: string): string => {
  const v = str(o, k, '');
  if (!/^[0-9a-f]{8,64}$/.test(v)) throw new Bad(`${k}: expected 8 to 64 hex digits`);
  return v;
};
/** A request id that can name a binary chunk frame: 1..64 of [A-Za-z0-9_-]. */
const chunkId = (o: Obj): string => {
  const v = str(o, 'request_id', '');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(v)) throw new Bad('request_id: expected 1 to 64 of A-Z a-z 0-9 _ -');
  return v;
};
const windowOf = (o: Obj, k: string): number => {
  const v = int(o, k, '');
  if (v < 1 || v > DOWNLOAD_MAX_WINDOW) throw new Bad(`${k}: expected 1..${DOWNLOAD_MAX_WINDOW}`);
  return v;
};
const absPath = (o: Obj, k: string): string => {
  const v = str(o, k, '');
  if (!v.startsWith('/') || v.length > 4096) throw new Bad(`${k}: expected an absolute path`);
  return v;
};

/** A RetentionPolicy (protocol common.ts) that keeps something: the agent never runs forget with nothing to keep. */
function retention(o: Obj, at: string): RetentionPolicy {
  const p: RetentionPolicy = {};
  for (const k of ['keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly'] as const) if (o[k] !== undefined) p[k] = int(o, k, at);
  const within = optStr(o, 'keep_within', at);
  if (within !== undefined && !/^(\d+[ymdh])+$/.test(within)) throw new Bad(`${at}keep_within: expected a duration like 30d`);
  if (within !== undefined) p.keep_within = within;
  if (o.keep_tag !== undefined) p.keep_tag = strList(o, 'keep_tag', at);
  const known = new Set(['keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly', 'keep_within', 'keep_tag']);
  const extra = Object.keys(o).find((k) => !known.has(k));
  if (extra !== undefined) throw new Bad(`${at}${extra.slice(0, 40)}: unknown retention rule`);
  if (!Object.values(p).some((v) => (Array.isArray(v) ? v.length > 0 : v !== 0))) throw new Bad(`${at.replace(/\.$/, '')}: the policy keeps nothing`);
  return p;
}

function credential(o: Obj, at: string): JobCredential {
  const c: JobCredential = { repository: str(o, 'repository', at, 1), password: str(o, 'password', at, 1) };
  const u = optStr(o, 'rest_username', at);
  const p = optStr(o, 'rest_password', at);
  const note = optStr(o, 'note', at);
  if (u !== undefined) c.rest_username = u;
  if (p !== undefined) c.rest_password = p;
  if (note !== undefined) c.note = note.slice(0, 500);
  return c;
}

/**
 * The outline of a repository (issue 15): the fields every use needs, named when missing. The
 * backend credentials are checked field by field with the protocol's schema when a job or a
 * repo.test uses them (jobs/repo-access.ts), so an idle agent never builds zod.
 */
function repository(v: unknown, at: string): RepositoryConfig {
  const o = obj(v, at);
  const p = `${at}.`;
  str(o, 'id', p, 1);
  str(o, 'name', p);
  str(o, 'url', p, 1);
  str(o, 'password', p, 1);
  if (o.engine !== 'restic' && o.engine !== 'rustic') throw new Bad(`${p}engine: expected restic or rustic`);
  str(obj(o.credentials, `${p}credentials`), 'backend', `${p}credentials.`, 1);
  optStr(o, 'tls_ca_pem', p);
  return o as unknown as RepositoryConfig;
}

function schedule(v: unknown, at: string): ScheduleSpec {
  const o = obj(v, at);
  const kind = str(o, 'kind', at);
  if (!(SCHEDULE_KINDS as readonly string[]).includes(kind)) throw new Bad(`${at}kind: unknown schedule kind`);
  if (typeof o.enabled !== 'boolean') throw new Bad(`${at}enabled: expected a boolean`);
  const opts = o.options === undefined ? {} : obj(o.options, `${at}options`);
  const options: ScheduleSpec['options'] = {};
  for (const k of ['limit_upload_kbps', 'limit_download_kbps'] as const) if (opts[k] !== undefined) options[k] = int(opts, k, `${at}options.`);
  const rp = o.retention_policy;
  const tz = optStr(o, 'time_zone', at);
  const repoId = optStr(o, 'repository_id', at);
  const subset = optStr(o, 'read_data_subset', at);
  const rotation = o.read_data_rotation === undefined ? undefined : int(o, 'read_data_rotation', at);
  return {
    id: str(o, 'id', at, 1), kind: kind as ScheduleSpec['kind'], cron_expr: str(o, 'cron_expr', at, 1), enabled: o.enabled,
    ...(tz ? { time_zone: tz } : {}),
    ...(repoId ? { repository_id: repoId } : {}),
    ...(subset ? { read_data_subset: subset } : {}),
    ...(rotation !== undefined ? { read_data_rotation: rotation } : {}),
    ...(o.stop_containers === undefined ? {} : { stop_containers: strList(o, 'stop_containers', at) }),
    ...(bool(o, 'capped', at) ? { capped: true } : {}),
    paths: strList(o, 'paths', at), excludes: strList(o, 'excludes', at), tags: strList(o, 'tags', at),
    retention_policy: rp === undefined || rp === null ? null : obj(rp, `${at}retention_policy`),
    options, pre_hook: nullStr(o, 'pre_hook', at), post_hook: nullStr(o, 'post_hook', at), run_as: nullStr(o, 'run_as', at),
    ...(o.windows === undefined ? {} : { windows: windowSets(o, at) }),
    ...(o.databases === undefined ? {} : { databases: objList(o, 'databases', at) as DatabaseTarget[] /* checked field by field with BackupArgs when the job runs */ }),
  };
}

/** ScheduleSpec.windows (issue 21): the shapes only; a malformed time makes its window never open (windows.ts). */
function windowSets(o: Obj, at: string): NonNullable<ScheduleSpec['windows']> {
  return objList(o, 'windows', at).map((set, i) => {
    const p = `${at}windows.${i}.`;
    const source = optStr(set, 'source', p);
    return {
      windows: objList(set, 'windows', p).map((w, j) => {
        const q = `${p}windows.${j}.`;
        if (w.at_end !== 'finish' && w.at_end !== 'stop') throw new Bad(`${q}at_end: expected finish or stop`);
        return { days: strList(w, 'days', q) as ScheduleWindowDay[], start: str(w, 'start', q, 1), end: str(w, 'end', q, 1), at_end: w.at_end };
      }),
      blackouts: objList(set, 'blackouts', p).map((b, j) => {
        const to = optStr(b, 'to', `${p}blackouts.${j}.`);
        return { from: str(b, 'from', `${p}blackouts.${j}.`, 1), ...(to ? { to } : {}) };
      }),
      ...(source ? { source } : {}),
    };
  });
}

function objList(o: Obj, k: string, at: string): Obj[] {
  const v = o[k];
  if (!Array.isArray(v)) throw new Bad(`${at}${k}: expected a list of objects`);
  return v.map((x, i) => obj(x, `${at}${k}.${i}`));
}

/** Validates a schedule.set body (also used for the persisted last-known-good copy). */
export function parseScheduleSet(v: unknown): FrameResult<ScheduleSetFrame> {
  try {
    const o = obj(v, 'frame');
    const list = o.schedules;
    if (!Array.isArray(list)) throw new Bad('schedules: expected a list');
    return { ok: true, value: { type: 'schedule.set', schedule_version: int(o, 'schedule_version', ''), schedules: list.map((s, i) => schedule(s, `schedules.${i}.`)) } };
  } catch (err) {
    if (err instanceof Bad) return { ok: false, message: err.message };
    throw err;
  }
}

/**
 * Parses one server frame. Never throws; the message names the offending field but never
 * echoes values (frames can carry credentials). Unknown frame types are rejected.
 */
export function parseServerFrame(raw: Buffer | string): FrameResult<ServerFrame> {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > MAX_FRAME_BYTES) return { ok: false, message: `frame of ${size} bytes exceeds ${MAX_FRAME_BYTES}` };
  let data: unknown;
  try {
    data = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return { ok: false, message: 'frame is not valid JSON' };
  }
  try {
    const o = obj(data, 'frame');
    const type = str(o, 'type', '');
    switch (type) {
      case 'hello': {
        if (o.outbox_acks !== undefined && typeof o.outbox_acks !== 'boolean') throw new Bad('outbox_acks: expected a boolean');
        const acks = o.outbox_acks === true ? { outbox_acks: true } : {};
        const dbr = o.databases_report === true ? { databases_report: true } : {};
        return { ok: true, value: { type, protocol_version: int(o, 'protocol_version', ''), server_version: str(o, 'server_version', ''), host_id: str(o, 'host_id', ''), ...acks, ...dbr } };
      }
      case 'ack': {
        const seq = int(o, 'outbox_seq', '');
        if (seq < 1) throw new Bad('outbox_seq: expected a positive integer');
        return { ok: true, value: { type, outbox_seq: seq } };
      }
      case 'command.run': {
        const kind = str(o, 'kind', '');
        const jobId = str(o, 'job_id', '', 1);
        if (jobId.length > 64) throw new Bad('job_id: too long');
        // A kind from a newer server: the agent answers with a failed job instead of dropping the frame.
        if (!(JOB_KINDS as readonly string[]).includes(kind)) return { ok: true, value: { type: 'command.unsupported', job_id: jobId, kind: kind.slice(0, 64) } };
        const args = o.args === undefined ? {} : obj(o.args, 'args');
        const cred = o.credential === undefined ? undefined : credential(obj(o.credential, 'credential'), 'credential.');
        // The vault target is validated with the protocol's zod schema when the job runs.
        const vault = o.vault === undefined ? undefined : (obj(o.vault, 'vault') as VaultJobTarget); // validated when the vault job runs
        const repo = o.repository === undefined ? undefined : repository(o.repository, 'repository');
        const copyTarget = o.copy_target === undefined ? undefined : repository(o.copy_target, 'copy_target');
        const stopAt = optStr(o, 'stop_at', '');
        if (stopAt !== undefined && Number.isNaN(Date.parse(stopAt))) throw new Bad('stop_at: expected an ISO time');
        return {
          ok: true,
          value: {
            type, job_id: jobId, kind: kind as JobKind, args, ...(cred ? { credential: cred } : {}), ...(vault ? { vault } : {}),
            ...(repo ? { repository: repo } : {}), ...(copyTarget ? { copy_target: copyTarget } : {}), ...(stopAt ? { stop_at: stopAt } : {}),
          },
        };
      }
      case 'command.cancel':
        return { ok: true, value: { type, job_id: str(o, 'job_id', '', 1) } };
      case 'schedule.set':
        return parseScheduleSet(o);
      case 'config.update': {
        if (o.repositories !== undefined && (!Array.isArray(o.repositories) || o.repositories.length > 32)) throw new Bad('repositories: expected a list of at most 32');
        const repos = o.repositories === undefined ? undefined : (o.repositories as unknown[]).map((r, i) => repository(r, `repositories.${i}`));
        return { ok: true, value: { type, ...credential(o, ''), ...(repos ? { repositories: repos } : {}) } };
      }
      case 'agent.update.available':
        return { ok: true, value: { type, version: str(o, 'version', ''), url: str(o, 'url', '') } };
      case 'error': {
        const up = optStr(o, 'upgrade_url', '');
        return { ok: true, value: { type, code: str(o, 'code', ''), message: str(o, 'message', ''), ...(up ? { upgrade_url: up } : {}) } };
      }
      case 'snapshot.ls': {
        const limit = int(o, 'limit', '');
        if (limit < 1 || limit > 500) throw new Bad('limit: expected 1..500');
        return { ok: true, value: { type, request_id: str(o, 'request_id', '', 1), snapshot_id: hex(o, 'snapshot_id'), path: absPath(o, 'path'), limit, offset: int(o, 'offset', '') } };
      }
      case 'snapshot.diff': {
        const limit = int(o, 'limit', '');
        if (limit < 1 || limit > 500) throw new Bad('limit: expected 1..500');
        return { ok: true, value: { type, request_id: str(o, 'request_id', '', 1), from_snapshot_id: hex(o, 'from_snapshot_id'), to_snapshot_id: hex(o, 'to_snapshot_id'), limit, offset: int(o, 'offset', '') } };
      }
      case 'forget.preview': {
        const tags = o.tags === undefined ? undefined : strList(o, 'tags', '');
        return { ok: true, value: { type, request_id: str(o, 'request_id', '', 1), policy: retention(obj(o.policy, 'policy'), 'policy.'), ...(tags ? { tags } : {}) } };
      }
      case 'repo.key.add':
        return { ok: true, value: { type, request_id: str(o, 'request_id', '', 1), job_id: str(o, 'job_id', '', 1), password: str(o, 'password', '', 16) } };
      case 'repo.key.remove': {
        const cred = o.credential === undefined ? undefined : credential(obj(o.credential, 'credential'), 'credential.');
        return { ok: true, value: { type, request_id: str(o, 'request_id', '', 1), job_id: str(o, 'job_id', '', 1), key_id: hex(o, 'key_id'), ...(cred ? { credential: cred } : {}) } };
      }
      case 'download.start': {
        const format = str(o, 'format', '');
        if (format !== 'raw' && format !== 'tar' && format !== 'zip') throw new Bad('format: expected raw, tar or zip');
        return { ok: true, value: { type, request_id: chunkId(o), snapshot_id: hex(o, 'snapshot_id'), path: absPath(o, 'path'), format, max_bytes: int(o, 'max_bytes', ''), window: windowOf(o, 'window') } };
      }
      case 'download.credit':
        return { ok: true, value: { type, request_id: chunkId(o), chunks: windowOf(o, 'chunks') } };
      case 'download.cancel':
        return { ok: true, value: { type, request_id: chunkId(o) } };
      case 'slot.grant': {
        const jobId = str(o, 'job_id', '', 1);
        if (jobId.length > 64) throw new Bad('job_id: too long');
        return { ok: true, value: { type, job_id: jobId } };
      }
      case 'repo.test':
        return { ok: true, value: { type, request_id: str(o, 'request_id', '', 1), repository: repository(o.repository, 'repository') } };
      default:
        return { ok: false, message: `type: unknown frame type` };
    }
  } catch (err) {
    if (err instanceof Bad) return { ok: false, message: err.message };
    throw err;
  }
}
