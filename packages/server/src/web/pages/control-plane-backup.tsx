import type { ControlPlaneBackupView, RepositoryView } from '@restic-manager/protocol';
import { Badge, Field, RelTime } from '../components/ui.js';

/* Settings → Control-plane backup (admin, issue 20, docs/operations.md): the schedule, the
   repository (one of the Repository objects: its password stays sealed there), age recipients,
   whether the secret key goes in, Run now and the last run. Posts map to the REST request type. */

/** Backends the server itself reaches (as ControlPlaneBackupService checks). */
const SERVER_BACKENDS = new Set(['local', 'rest', 's3', 'b2', 'azure']);

function LastRun(props: { v: ControlPlaneBackupView }) {
  const r = props.v.last_run;
  if (props.v.running_since) return <p style="margin:0"><Badge tone="info" running>running</Badge> since <RelTime iso={props.v.running_since} /></p>;
  if (!r) return <p class="muted" style="margin:0" data-last-run="never">Never run.</p>;
  return (
    <dl class="kv" data-last-run={r.status}>
      <dt>Last run</dt>
      <dd><Badge tone={r.status === 'succeeded' ? 'ok' : 'danger'}>{r.status}</Badge> <RelTime iso={r.finished_at} /> ({r.trigger}, {(r.duration_ms / 1000).toFixed(1)} s)</dd>
      {r.snapshot_id ? <><dt>Snapshot</dt><dd class="mono" data-snapshot-id>{r.snapshot_id}</dd></> : null}
      {r.error ? <><dt>Error</dt><dd data-last-error style="overflow-wrap:anywhere;color:var(--danger)">{r.error}</dd></> : null}
      <dt>Last success</dt><dd><RelTime iso={props.v.last_success_at} empty="never" /></dd>
    </dl>
  );
}

export function ControlPlaneBackupCard(props: { v: ControlPlaneBackupView; repositories: RepositoryView[] }) {
  const v = props.v;
  const usable = props.repositories.filter((r) => SERVER_BACKENDS.has(r.backend));
  return (
    <section class="card" id="control-plane-backup">
      <div class="card-head">
        <h2>Control-plane backup</h2>
        {v.enabled ? <span class="muted" style="font-size:.88rem">next <RelTime iso={v.next_run_at} /></span> : <Badge tone="neutral">not scheduled</Badge>}
      </div>
      <div class="card-body" style="display:grid;gap:12px">
        <p class="muted" style="margin:0">
          This server's database (with the sealed credentials), its secret key and a manifest, as one restic snapshot tagged <code>restic-manager-control-plane</code>:
          the same backup as <code>restic-manager server backup</code>, run by the server on this schedule. Restore with <code>restic-manager server restore</code>.
        </p>
        <LastRun v={v} />
        <form class="form" hx-put="/settings/control-plane-backup" hx-target="#control-plane-backup" hx-swap="outerHTML" novalidate>
          <label><input type="checkbox" name="enabled" value="on" checked={v.enabled} /> Back up on this schedule</label>
          <Field name="cron_expr" label="Schedule (cron)" hint="Five or six fields, or @daily."><input id="f-cron_expr" name="cron_expr" value={v.cron_expr} /></Field>
          <Field name="time_zone" label="Time zone"><input id="f-time_zone" name="time_zone" value={v.time_zone} /></Field>
          <Field name="repository_id" label="Repository" hint="One of your repositories that this server can reach itself (local, rest, s3, b2, azure); its password stays stored there.">
            <select id="f-repository_id" name="repository_id">
              <option value="" selected={v.repository_id === null}>— choose —</option>
              {usable.map((r) => <option value={r.id} selected={r.id === v.repository_id}>{r.name} ({r.backend})</option>)}
            </select>
          </Field>
          <Field name="recipients" label="age recipients (optional, one per line)" hint="The files are encrypted to these public keys first: the restic password alone then cannot open them.">
            <textarea id="f-recipients" name="recipients" rows={2} class="mono">{v.recipients.join('\n')}</textarea>
          </Field>
          <label><input type="checkbox" name="include_key" value="on" checked={v.include_key} /> Include the secret key (without it, restore needs the recovery kit)</label>
          <div class="form-actions">
            <button class="btn primary" type="submit">Save</button>
            <button class="btn" type="button" hx-post="/settings/control-plane-backup/run" hx-target="#control-plane-backup" hx-swap="outerHTML" disabled={v.repository_id === null}>Run now</button>
          </div>
        </form>
      </div>
    </section>
  );
}
