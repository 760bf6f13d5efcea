import type { DatabaseView } from '@restic-manager/protocol';
import { DatabaseEngine } from '@restic-manager/protocol';
import { Field } from '../components/ui.js';

/*
 * The schedule editor's "Databases" section (docs/databases.md): one row per stored target plus
 * one empty row to add another. Stored passwords are never sent to the browser: an empty password
 * field keeps the stored one (same engine, host, port, user), a typed one replaces it.
 */

const ENGINES = DatabaseEngine.options;

/** One target's inputs, named `<prefix>.<i>.<field>` (the form is nested by `nest`). */
export function DatabaseRow(props: { i: number; d: DatabaseView | null; prefix?: string }) {
  const { i, d } = props;
  const n = (k: string): string => `${props.prefix ?? 'databases'}.${i}.${k}`;
  const input = (k: string, value: string, extra: Record<string, unknown> = {}) => <input id={`f-${n(k)}`} name={n(k)} value={value} autocomplete="off" {...extra} />;
  return (
    <div class="db-row field-row" data-db-row={String(i)}>
      <Field name={n('engine')} label="Engine">
        <select id={`f-${n('engine')}`} name={n('engine')}>
          <option value="" selected={!d}>{d ? 'remove' : '—'}</option>
          {ENGINES.map((e) => <option value={e} selected={d?.engine === e}>{e}</option>)}
        </select>
      </Field>
      <Field name={n('database')} label="Database" hint="* = all databases">{input('database', d ? (d.all ? '*' : d.database ?? '') : '', { size: 12 })}</Field>
      <Field name={n('host')} label="Host or socket" hint="empty = local socket">{input('host', d?.host ?? '', { size: 14 })}</Field>
      <Field name={n('port')} label="Port">{input('port', d?.port !== undefined ? String(d.port) : '', { size: 5, inputmode: 'numeric' })}</Field>
      <Field name={n('user')} label="User">{input('user', d?.user ?? '', { size: 10 })}</Field>
      <Field name={n('password')} label="Password">
        <input id={`f-${n('password')}`} name={n('password')} type="password" autocomplete="new-password" size={12} placeholder={d?.has_password ? '(set — empty keeps it)' : ''} />
      </Field>
      <Field name={n('container')} label="Container" hint="docker exec">{input('container', d?.container ?? '', { size: 12 })}</Field>
      <Field name={n('password_env')} label="Password variable" hint="the container's, e.g. POSTGRES_PASSWORD">{input('password_env', d?.password_env ?? '', { size: 14 })}</Field>
      <Field name={n('path')} label="File" hint="sqlite: the database file">{input('path', d?.path ?? '', { size: 14 })}</Field>
      <Field name={n('run_as')} label="Run as" hint="OS user, e.g. postgres">{input('run_as', d?.run_as ?? '', { size: 9 })}</Field>
    </div>
  );
}

/** What the agent's last databases.report found (hints for filling the rows). */
export interface Discovered {
  discovered_at: string | null;
  local: Record<string, unknown>[];
  containers: Record<string, unknown>[];
  volumes?: Record<string, unknown>[];
  /** Why the agent found no containers (no engine, socket unreadable, API error); null when it looked. */
  docker_error?: string | null;
}

/** Volumes and bind mounts of running containers: host paths to put into Paths (one a line). */
export function VolumeList(props: { d: Discovered }) {
  const vols = props.d.volumes ?? [];
  if (!props.d.discovered_at || vols.length === 0) return null;
  const s = (v: unknown): string => (typeof v === 'string' ? v : '');
  return (
    <div class="muted" id="discovered-volumes" style="margin:0 0 6px">
      Container data on this host (copy a path into Paths to back it up):
      <ul style="margin:2px 0 0 18px;padding:0">
        {vols.map((v) => <li><span class="mono">{s(v.source)}</span> — {v.type === 'volume' ? <>volume <span class="mono">{s(v.name)}</span></> : 'bind mount'} of container <span class="mono">{s(v.container)}</span> at <span class="mono">{s(v.destination)}</span>{v.read_only === true ? ' (read-only)' : ''}</li>)}
      </ul>
    </div>
  );
}

function DiscoveredList(props: { d: Discovered }) {
  const { d } = props;
  if (!d.discovered_at) return null;
  const s = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  const items = [
    ...d.local.map((l) => `${s(l.engine)} on ${s(l.via)}`),
    ...d.containers.map((c) => `${s(c.engine)} in container ${s(c.container)} (${s(c.image)})${c.user ? `, user ${s(c.user)}` : ''}${c.database ? `, database ${s(c.database)}` : ''}${c.password_env ? `, password in $${s(c.password_env)}` : ''}`),
  ];
  return (
    <div class="muted" id="discovered-databases" style="margin:0 0 6px">
      {items.length ? <>Found by the agent: <ul style="margin:2px 0 0 18px;padding:0">{items.map((i) => <li class="mono">{i}</li>)}</ul></> : 'The agent found no database servers on this host.'}
      {d.docker_error ? <div id="docker-error">No Docker containers looked at: {d.docker_error}</div> : null}
    </div>
  );
}

/** Backup schedules: databases to dump, one snapshot each. */
export function DatabasesFieldset(props: { databases: readonly DatabaseView[]; discovered?: Discovered | null }) {
  const rows = [...props.databases, null];
  return (
    <fieldset class="field" id="schedule-databases"><legend>Databases (backup)</legend>
      <p class="muted" style="margin:0 0 6px">Each database is dumped (pg_dump / mariadb-dump / redis-cli / sqlite3 / mongodump) straight into its own snapshot, tagged <code>db:&lt;engine&gt;</code> and <code>db-name:&lt;name&gt;</code>. Passwords are stored encrypted and never shown. Paths may stay empty.</p>
      {props.discovered ? <DiscoveredList d={props.discovered} /> : null}
      {rows.map((d, i) => <DatabaseRow i={i} d={d} />)}
    </fieldset>
  );
}

const optText = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/**
 * The form's `databases.<i>.*` fields (after `nest`) as DatabaseTarget inputs: rows without an
 * engine are dropped, `*` means all databases, numbers stay raw text when they are not numbers
 * (zod then names the field).
 */
export function databasesFromForm(raw: unknown): Record<string, unknown>[] {
  if (typeof raw !== 'object' || raw === null) return [];
  const rows = Object.entries(raw as Record<string, Record<string, unknown>>).sort(([a], [b]) => Number(a) - Number(b)).map(([, r]) => r);
  const out: Record<string, unknown>[] = [];
  for (const r of rows) {
    const engine = optText(r.engine);
    if (!engine) continue;
    const db = optText(r.database);
    const port = optText(r.port);
    const t: Record<string, unknown> = { engine };
    for (const k of ['host', 'user', 'container', 'run_as', 'password_env', 'path'] as const) {
      const v = optText(r[k]);
      if (v !== undefined) t[k] = v;
    }
    if (port !== undefined) t.port = /^\d+$/.test(port) ? Number(port) : port;
    if (typeof r.password === 'string' && r.password !== '') t.password = r.password;
    if (db === '*') t.all = true;
    else if (db !== undefined) t.database = db;
    out.push(t);
  }
  return out;
}
