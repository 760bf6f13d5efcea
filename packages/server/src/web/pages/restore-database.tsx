import type { HostView, SnapshotView } from '@restic-manager/protocol';
import { DatabaseEngine, dumpFamily, REDIS_NO_RESTORE } from '@restic-manager/protocol';
import { Field } from '../components/ui.js';

/*
 * The restore wizard's "Restore into database" card, shown for a database snapshot (tags
 * `db:<engine>`, `db-name:<db>`; docs/databases.md "Restoring a dump"). It posts a DbRestoreRequest
 * (`connection.*` fields, named like the API's, so field errors land next to their input). The
 * password field is never pre-filled.
 */

/** The engine and database a dump snapshot holds, or null for an ordinary snapshot. */
export function dumpOf(s: SnapshotView): { engine: string; database: string } | null {
  const engine = s.tags.find((t) => t.startsWith('db:'))?.slice(3);
  const database = s.tags.find((t) => t.startsWith('db-name:'))?.slice(8);
  return engine && database && database !== '_globals' ? { engine, database } : null;
}

const TOOL_NOTE: Record<string, string> = {
  mariadb: 'mariadb, statement by statement: tables replaced before an error stay replaced',
  sqlite: 'a new file beside the path below, checked with PRAGMA integrity_check, then linked to that path (which must not exist)',
  mongodb: 'mongorestore --archive: documents whose _id exists are skipped and reported',
};

export function DatabaseRestoreCard(props: { host: HostView; snapshot: SnapshotView; dump: { engine: string; database: string } }) {
  const { host: h, snapshot: s, dump } = props;
  const pg = dump.engine === 'postgres';
  const family = dumpFamily(dump.engine);
  const text = (name: string, label: string, hint: string, extra: Record<string, unknown> = {}) => (
    <Field name={name} label={label} hint={hint}><input id={`f-${name}`} name={name} autocomplete="off" {...extra} /></Field>
  );
  return (
    <section class="card" aria-labelledby="rs-db" id="db-restore">
      <div class="card-head">
        <h2 id="rs-db">Restore into database</h2>
        <span class="muted">This snapshot is a {dump.engine} dump of database <span class="mono">{dump.database}</span> ({s.paths.join(', ')}).</span>
      </div>
      {family === 'redis' ? <p class="card-body muted" id="db-restore-redis">{REDIS_NO_RESTORE}.</p> : (
      <form class="card-body form" id="db-restore-form" hx-post={`/hosts/${h.id}/restore/database`} novalidate style="max-width:none">
        <input type="hidden" name="snapshot_id" value={s.id} />
        <p class="muted" style="margin:0 0 8px">The agent on {h.name} streams the dump (<span class="mono">restic dump</span>) into {pg ? <><span class="mono">psql</span> / <span class="mono">pg_restore</span> in one transaction: an error changes nothing</> : TOOL_NOTE[family] ?? TOOL_NOTE.mariadb}. The password goes to the tool only, is stored encrypted with the job and is never shown again.</p>
        <div class="field-row">
          <Field name="connection.engine" label="Engine">
            <select id="f-connection.engine" name="connection.engine">
              {DatabaseEngine.options.filter((e) => dumpFamily(e) === family).map((e) => <option value={e} selected={e === dump.engine}>{e}</option>)}
            </select>
          </Field>
          {text('connection.host', 'Host or socket', pg ? 'empty = local socket; a socket directory starts with /' : 'empty = local socket; a socket file starts with /', { size: 16 })}
          {text('connection.port', 'Port', 'empty = default', { size: 6, inputmode: 'numeric' })}
          {text('connection.user', 'User', '', { size: 12 })}
          <Field name="connection.password" label="Password" hint="never pre-filled">
            <input id="f-connection.password" name="connection.password" type="password" autocomplete="new-password" size={14} />
          </Field>
        </div>
        <div class="field-row">
          {family === 'sqlite' ? text('connection.path', 'File to create', 'an absolute path that does not exist yet', { size: 24 }) : null}
          {text('connection.container', 'Container', 'docker exec, instead of host', { size: 14 })}
          {text('connection.password_env', 'Password variable', "the container's, e.g. POSTGRES_PASSWORD", { size: 14 })}
          {text('connection.run_as', 'Run as', 'OS user, e.g. postgres (peer authentication)', { size: 10 })}
          {text('database', 'Restore into database', 'default: the original name', { size: 16, placeholder: dump.database, value: dump.database })}
        </div>
        {pg ? (
          <label class="radio"><input type="checkbox" name="create" value="true" id="f-create" /> Create the database first (it must not exist; dropped again if the restore fails). Without this, restore into an empty existing database.</label>
        ) : null}
        <div class="error" data-field-error="snapshot_id" hidden role="alert"></div>
        <div class="error" data-field-error="create" hidden role="alert"></div>
        <div class="form-actions">
          <button class="btn primary" type="submit" id="db-restore-submit" hx-confirm={`Restore ${dump.database} from snapshot ${s.short_id} into the database named in the form?`}>Restore into database</button>
          <span class="muted">Opens the job page with the tool's log.</span>
        </div>
      </form>
      )}
    </section>
  );
}
