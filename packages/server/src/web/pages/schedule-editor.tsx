import { DEFAULT_CHECK_ROTATION } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { canOperate, isAdmin } from '../components/layout.js';
import { Badge, Field, RelTime } from '../components/ui.js';
import type { CronPreview } from '../../services/schedule-preview.js';
import type { DatabaseView } from '@restic-manager/protocol';
import { DatabasesFieldset, VolumeList } from './schedule-databases.js';
import type { Discovered } from './schedule-databases.js';
import { WindowsFieldset } from './schedule-windows.js';
import type { WindowSetInput } from '@restic-manager/protocol';
import { PingFieldset } from './schedule-ping-field.js';

/* Issue 6 UI pieces: schedule editor with live cron preview, maintenance card (run-now,
   locks, maintenance credential), host default hooks, overdue schedules. */

const KEEP = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

/** `2026-11-23 03:00:00 Asia/Tokyo`: an ISO instant as wall-clock time in the schedule's zone. */
function inZone(iso: string, zone: string): string {
  try {
    return `${new Date(iso).toLocaleString('sv-SE', { timeZone: zone })} ${zone}`;
  } catch {
    return iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }
}

/**
 * The HTMX fragment under the cron input: description + next five runs, or the error. With
 * backup windows (issue 21), `starts[i]` is when run i really starts (null: the windows never open).
 */
export function CronPreviewView(props: { preview: CronPreview; starts?: (string | null)[] }) {
  const p = props.preview;
  if (!p.ok) return <div class="error" role="alert" id="cron-preview-error">Invalid cron expression: {p.error}</div>;
  const start = (i: number, t: string) => {
    const s = props.starts?.[i];
    if (s === undefined || s === t) return null;
    return s === null
      ? <span class="window-wait"> → its backup windows never open</span>
      : <span class="window-wait"> → waits for its backup window, starts {inZone(s, p.time_zone)}</span>;
  };
  return (
    <div class="muted" style="font-size:.88rem">
      <strong>{p.description}</strong> <span class="faint">({p.time_zone})</span>
      <ol id="cron-next" style="margin:4px 0 0 18px;padding:0">
        {p.next.map((t, i) => <li class="mono" title={t}>{inZone(t, p.time_zone)}{start(i, t)}</li>)}
      </ol>
    </div>
  );
}

export interface ScheduleListItem {
  id: string;
  kind: string;
  cron_expr: string;
  enabled: boolean;
}

/** A stored schedule as the editor pre-fills it (hooks: only whether they are set). */
export interface EditableSchedule extends ScheduleListItem {
  time_zone: string | null;
  repository_id?: string | null;
  paths: string[];
  excludes: string[];
  tags: string[];
  retention_policy: Record<string, unknown> | null;
  options: { limit_upload_kbps?: number | undefined; limit_download_kbps?: number | undefined };
  has_pre_hook: boolean;
  has_post_hook: boolean;
  run_as: string | null;
  databases?: DatabaseView[];
  read_data_subset?: string | null;
  read_data_rotation?: number | null;
  drill_host_id?: string | null;
  has_healthcheck_url?: boolean;
  stop_containers?: string[];
  /** Issue 21: the schedule's own backup windows. */
  windows?: WindowSetInput | null;
}

const KINDS = ['backup', 'forget', 'prune', 'check', 'vault_backup', 'vault_prune', 'restore_drill'] as const;
const str = (v: unknown): string => (v === undefined || v === null ? '' : Array.isArray(v) ? v.join(', ') : String(v as string | number));

/**
 * Per-schedule Edit / enable / delete buttons and the schedule form (operators; hooks: admins).
 * With `editing`, the form is filled from that schedule and saves it in place (PUT /schedules/:id);
 * otherwise it creates a new one.
 */
/** A repository linked to the host, for the schedule's target select (issue 15). */
export interface TargetRepository {
  id: string;
  name: string;
  primary: boolean;
}

export function ScheduleEditor(props: { hostId: string; viewer: Viewer; schedules: ScheduleListItem[]; editing?: EditableSchedule | null; hostTimeZone?: string | null; discovered?: Discovered | null; repositories?: TargetRepository[]; drillHosts?: { id: string; name: string }[] }) {
  if (!canOperate(props.viewer)) return null;
  const id = props.hostId;
  const admin = isAdmin(props.viewer);
  const e = props.editing ?? null;
  const rp = e?.retention_policy ?? {};
  const hooksSet = e ? e.has_pre_hook || e.has_post_hook || e.run_as != null : false;
  return (
    <div class="stack">
      {props.schedules.length ? (
        <section class="card">
          <div class="card-head"><h2>Manage schedules</h2></div>
          <div class="card-body">
            <ul id="schedule-actions" style="list-style:none;margin:0;padding:0">
              {props.schedules.map((s) => (
                <li style="display:flex;gap:8px;align-items:center;margin:4px 0" data-schedule-id={s.id}>
                  <span class="mono">{s.kind} · {s.cron_expr}</span>
                  <a class="btn" href={`/hosts/${id}/schedules?edit=${s.id}#schedule-form`} aria-current={e?.id === s.id ? 'true' : undefined}>Edit</a>
                  <button class="btn" hx-post={`/schedules/${s.id}/toggle`}>{s.enabled ? 'Disable' : 'Enable'}</button>
                  <button class="btn danger" hx-post={`/schedules/${s.id}/delete`} hx-confirm={`Delete the ${s.kind} schedule “${s.cron_expr}”?`}>Delete</button>
                </li>
              ))}
            </ul>
          </div>
        </section>
      ) : null}
      <section class="card">
        <div class="card-head">
          <h2>{e ? `Edit schedule: ${e.kind} · ${e.cron_expr}` : 'New schedule'}</h2>
          {e ? <a href={`/hosts/${id}/schedules`} id="schedule-edit-cancel">Cancel editing</a> : null}
        </div>
        <div class="card-body">
          <form class="form" id="schedule-form" {...(e ? { 'hx-put': `/schedules/${e.id}` } : { 'hx-post': `/hosts/${id}/schedules` })} novalidate>
            <Field name="kind" label="Kind" hint="forget and prune run with the maintenance credential; vault_backup / vault_prune use the host's vault target (Settings); restore_drill restores a seeded sample of the latest snapshot and verifies it. These are fired by the server.">
              <select id="f-kind" name="kind">
                {KINDS.map((k) => <option value={k} selected={e?.kind === k}>{k}</option>)}
              </select>
            </Field>
            <Field name="cron_expr" label="Cron expression" hint="5 fields (min hour day month weekday) or 6 with leading seconds.">
              <input id="f-cron_expr" name="cron_expr" value={e?.cron_expr ?? '0 3 * * *'} autocomplete="off" class="mono"
                hx-get={`/hosts/${id}/schedules/preview`} hx-trigger="input changed delay:250ms, load" hx-target="#cron-preview" hx-include="#f-time_zone, [name^='windows.']" />
            </Field>
            <div id="cron-preview" aria-live="polite"></div>
            <Field name="time_zone" label="Time zone" hint={props.hostTimeZone ? `IANA name; empty = the host's zone (${props.hostTimeZone}, set in Settings).` : "IANA name, e.g. Europe/Berlin; empty = the agent's local zone (or set the host's zone in Settings)."}>
              <input id="f-time_zone" name="time_zone" value={e?.time_zone ?? ''} placeholder={props.hostTimeZone ?? "agent's local zone"} autocomplete="off"
                hx-get={`/hosts/${id}/schedules/preview`} hx-trigger="input changed delay:250ms" hx-target="#cron-preview" hx-include="#f-cron_expr, [name^='windows.']" />
            </Field>
            {(props.repositories?.length ?? 0) > 1 ? (
              <Field name="repository_id" label="Repository" hint="Where this schedule's jobs run; the primary unless another linked repository is chosen.">
                <select id="f-repository_id" name="repository_id">
                  {props.repositories!.map((r) => <option value={r.primary ? '' : r.id} selected={r.primary ? !e?.repository_id : e?.repository_id === r.id}>{r.name}{r.primary ? ' (primary)' : ''}</option>)}
                </select>
              </Field>
            ) : null}
            <Field name="paths" label="Paths (backup)" hint="One per line or comma-separated."><textarea id="f-paths" name="paths" rows={2}>{e ? e.paths.join('\n') : ''}</textarea></Field>
            {props.discovered ? <VolumeList d={props.discovered} /> : null}
            <Field name="stop_containers" label="Stop containers (backup)" hint="Stopped in this order before the backup and started again in reverse order afterwards, also when it fails. Comma-separated container names, or labels: label:KEY (every running container with that label) or label:KEY=VALUE (e.g. label:com.docker.compose.project=shop; compose dependents are stopped first)."><input id="f-stop_containers" name="stop_containers" value={str(e?.stop_containers)} /></Field>
            <DatabasesFieldset databases={e?.databases ?? []} discovered={props.discovered ?? null} />
            <Field name="excludes" label="Excludes"><input id="f-excludes" name="excludes" value={str(e?.excludes)} /></Field>
            <Field name="tags" label="Tags"><input id="f-tags" name="tags" value={str(e?.tags)} /></Field>
            <fieldset class="field"><legend>Retention (forget)</legend>
              <div class="field-row">
                {KEEP.map((k) => (
                  <Field name={`retention_policy.keep_${k}`} label={`keep ${k}`}><input id={`f-retention_policy.keep_${k}`} name={`retention_policy.keep_${k}`} value={str(rp[`keep_${k}`])} inputmode="numeric" size={4} /></Field>
                ))}
                <Field name="retention_policy.keep_within" label="keep within" hint="e.g. 30d"><input id="f-retention_policy.keep_within" name="retention_policy.keep_within" value={str(rp.keep_within)} size={6} /></Field>
                <Field name="retention_policy.keep_tag" label="keep tag"><input id="f-retention_policy.keep_tag" name="retention_policy.keep_tag" value={str(rp.keep_tag)} size={10} /></Field>
              </div>
              <div class="form-actions">
                <button type="button" class="btn" id="forget-preview-btn" hx-post={`/hosts/${id}/forget/preview`} hx-target="#forget-preview" hx-swap="innerHTML">Preview</button>
                <span class="muted">which snapshots of the host's repository this policy would keep and remove now (restic forget --dry-run; nothing is removed)</span>
              </div>
              <div id="forget-preview" aria-live="polite"></div>
            </fieldset>
            <fieldset class="field"><legend>Data read by a check</legend>
              <div class="field-row">
                <Field name="read_data_rotation" label="Read all data over N checks" hint={`Each check reads the next 1/N of the pack data; 0 = structure only. Empty = ${DEFAULT_CHECK_ROTATION}.`}>
                  <input id="f-read_data_rotation" name="read_data_rotation" value={str(e?.read_data_rotation)} placeholder={String(DEFAULT_CHECK_ROTATION)} inputmode="numeric" size={4} />
                </Field>
                <Field name="read_data_subset" label="…or a fixed subset" hint="e.g. 5% or 500M (replaces the rotation)"><input id="f-read_data_subset" name="read_data_subset" value={str(e?.read_data_subset)} size={8} /></Field>
              </div>
            </fieldset>
            <WindowsFieldset set={e?.windows ?? null} previewUrl={`/hosts/${id}/schedules/preview`} />
            <Field name="drill_host_id" label="Restore drill on (restore_drill)" hint="Where the sample is restored: this host, or another enrolled host through a temporary key.">
              <select id="f-drill_host_id" name="drill_host_id">
                <option value="">this host</option>
                {(props.drillHosts ?? []).filter((h) => h.id !== id).map((h) => <option value={h.id} selected={e?.drill_host_id === h.id}>{h.name}</option>)}
              </select>
            </Field>
            {admin ? <PingFieldset set={!!e?.has_healthcheck_url} scheduleId={e?.id ?? null} /> : null}
            <div class="field-row">
              <Field name="options.limit_upload_kbps" label="Upload limit (KiB/s)"><input id="f-options.limit_upload_kbps" name="options.limit_upload_kbps" value={str(e?.options.limit_upload_kbps)} inputmode="numeric" size={6} /></Field>
              <Field name="options.limit_download_kbps" label="Download limit (KiB/s)"><input id="f-options.limit_download_kbps" name="options.limit_download_kbps" value={str(e?.options.limit_download_kbps)} inputmode="numeric" size={6} /></Field>
            </div>
            {admin ? (
              <fieldset class="field"><legend>Hooks (backup only, admins)</legend>
                {hooksSet ? <p class="muted" id="hooks-kept" style="margin:0 0 6px">Stored hooks are not shown: leave a field empty to keep what is stored, or type a replacement.</p> : null}
                <Field name="pre_hook" label="pre_hook" hint="Shell command; a non-zero exit aborts the backup."><textarea id="f-pre_hook" name="pre_hook" rows={2} class="mono" placeholder={e?.has_pre_hook ? '(set — empty keeps it)' : ''}></textarea></Field>
                <Field name="post_hook" label="post_hook" hint="Runs after success or failure (RM_JOB_STATUS)."><textarea id="f-post_hook" name="post_hook" rows={2} class="mono" placeholder={e?.has_post_hook ? '(set — empty keeps it)' : ''}></textarea></Field>
                <Field name="run_as" label="run_as" hint="User the hooks run as (default: the agent's user)."><input id="f-run_as" name="run_as" value={e?.run_as ?? ''} /></Field>
                {hooksSet ? <label><input type="checkbox" id="f-clear_hooks" name="clear_hooks" value="on" /> Remove the stored hooks and run_as</label> : null}
              </fieldset>
            ) : null}
            <label><input type="checkbox" name="enabled" value="on" checked={e ? e.enabled : true} /> Enabled</label>
            <div class="form-actions"><button class="btn primary" type="submit">{e ? 'Save changes' : 'Save schedule'}</button></div>
          </form>
        </div>
      </section>
    </div>
  );
}

export interface MaintenanceStatus {
  set: boolean;
  rest_username: string | null;
  url: string | null;
  set_at: string | null;
  append_only: boolean;
}

/** Repo tab: run-now maintenance and the maintenance credential (the locks are in repo-locks.tsx). */
export function MaintenanceCard(props: { hostId: string; viewer: Viewer; status: MaintenanceStatus }) {
  const id = props.hostId;
  const st = props.status;
  return (
    <div class="stack">
      {canOperate(props.viewer) ? (
        <section class="card">
          <div class="card-head"><h2>Maintenance</h2></div>
          <div class="card-body">
            <form class="form inline" hx-post={`/hosts/${id}/maintenance/run`} novalidate>
              <input type="hidden" name="kind" value="forget" />
              {(['last', 'daily', 'weekly', 'monthly'] as const).map((k) => (
                <Field name={`policy.keep_${k}`} label={`keep ${k}`}><input id={`f-policy.keep_${k}`} name={`policy.keep_${k}`} inputmode="numeric" size={4} /></Field>
              ))}
              <div class="form-actions"><button class="btn" type="submit" hx-confirm="Forget snapshots outside this policy?">Forget now</button></div>
            </form>
            <form class="form inline" hx-post={`/hosts/${id}/maintenance/run`} novalidate>
              <input type="hidden" name="kind" value="check" />
              <Field name="read_data_rotation" label="Read all data over N checks" hint={`This check reads the next 1/N of the pack data (0 = structure only).`}><input id="f-check-read_data_rotation" name="read_data_rotation" value={String(DEFAULT_CHECK_ROTATION)} inputmode="numeric" size={4} /></Field>
              <Field name="read_data_subset" label="…or a subset" hint="e.g. 5% or 1/10 (replaces the rotation)"><input id="f-read_data_subset" name="read_data_subset" size={8} /></Field>
              <div class="form-actions beside-hint"><button class="btn" type="submit">Check now</button></div>
            </form>
            <div style="display:flex;gap:8px;margin-top:8px">
              <button class="btn" hx-post={`/hosts/${id}/maintenance/run`} hx-vals='{"kind":"prune"}' hx-confirm="Prune unreferenced data now?">Prune now</button>
            </div>
          </div>
        </section>
      ) : null}
      <MaintenanceCredentialCard action={`/hosts/${id}/maintenance-credential`} viewer={props.viewer} status={st} subject="the host's append-only credential" />
    </div>
  );
}

/** The maintenance credential: whether it is set, and the admin's form (host Repo tab and repository page). */
export function MaintenanceCredentialCard(props: { action: string; viewer: Viewer; status: MaintenanceStatus; subject: string }) {
  return (
    <section class="card">
      <div class="card-head"><h2>Maintenance credential</h2>{props.status.set ? <Badge tone="ok">set</Badge> : <Badge tone={props.status.append_only ? 'warn' : 'neutral'}>not set</Badge>}</div>
      <div class="card-body">
        <p class="muted" style="margin-top:0">
          Forget and prune delete data, which {props.subject} cannot do. The server keeps this non-append-only credential encrypted and sends it to the agent inside that one job; the agent never stores it.
          {props.status.set ? <> Set for <code>{props.status.rest_username}</code>{props.status.url ? <> at <code>{props.status.url}</code></> : null} <RelTime iso={props.status.set_at} />.</> : null}
        </p>
        {isAdmin(props.viewer) ? (
          <form class="form inline top" hx-post={props.action} novalidate>
            <Field name="url" label="Endpoint URL" hint="Empty = the routine repository URL."><input id="f-url" name="url" placeholder="rest:https://backup:8001/host/" /></Field>
            <Field name="rest_username" label="REST user"><input id="f-rest_username" name="rest_username" autocomplete="off" /></Field>
            <Field name="rest_password" label="REST password"><input id="f-rest_password" name="rest_password" type="password" autocomplete="new-password" /></Field>
            <div class="form-actions"><button class="btn" type="submit">Save credential</button></div>
          </form>
        ) : null}
      </div>
    </section>
  );
}

/** Settings tab (operators): the host's time zone, default zone of its schedules and the cron preview. */
export function HostTimeZoneCard(props: { hostId: string; viewer: Viewer; timeZone: string | null }) {
  if (!canOperate(props.viewer)) return null;
  return (
    <section class="card" id="time-zone">
      <div class="card-head"><h2>Time zone</h2><span class="muted">{props.timeZone ?? "not set (the agent's local zone)"}</span></div>
      <div class="card-body">
        <form class="form inline" hx-post={`/hosts/${props.hostId}/time-zone`} novalidate>
          <Field name="time_zone" label="IANA time zone" hint="e.g. Europe/Berlin or UTC. Schedules without their own zone fire in it; empty = the agent's local zone.">
            <input id="f-host-time_zone" name="time_zone" value={props.timeZone ?? ''} placeholder="Europe/Berlin" autocomplete="off" />
          </Field>
          <div class="form-actions beside-hint"><button class="btn" type="submit">Save time zone</button></div>
        </form>
      </div>
    </section>
  );
}

/** Settings tab (admins): host default hooks for backup schedules without their own. */
export function HostHooksCard(props: { hostId: string; viewer: Viewer; has: { pre: boolean; post: boolean } }) {
  if (!isAdmin(props.viewer)) return null;
  return (
    <section class="card">
      <div class="card-head"><h2>Default hooks</h2></div>
      <div class="card-body">
        <p class="muted" style="margin-top:0">Run around every backup schedule of this host that has no hooks of its own. Stored encrypted; changes are audited.
          {' '}Currently: pre {props.has.pre ? 'set' : 'none'}, post {props.has.post ? 'set' : 'none'}. Saving replaces both (empty = none).</p>
        <form class="form" hx-post={`/hosts/${props.hostId}/hooks`} novalidate>
          <Field name="pre_hook" label="Default pre_hook"><textarea id="f-default-pre_hook" name="pre_hook" rows={2} class="mono"></textarea></Field>
          <Field name="post_hook" label="Default post_hook"><textarea id="f-default-post_hook" name="post_hook" rows={2} class="mono"></textarea></Field>
          <div class="form-actions"><button class="btn" type="submit">Save default hooks</button></div>
        </form>
      </div>
    </section>
  );
}

export interface OverdueItem {
  schedule_id: string;
  host_id: string;
  host_name: string;
  kind: string;
  cron_expr: string;
  missed_at: string;
}

/** Dashboard: schedules that missed a fire time (host asleep or offline). */
export function OverdueCard(props: { items: OverdueItem[] }) {
  if (props.items.length === 0) return null;
  return (
    <section class="card" id="overdue">
      <div class="card-head"><h2>Overdue schedules</h2><Badge tone="warn">{String(props.items.length)}</Badge></div>
      <div class="table-wrap">
        <table>
          <thead><tr><th>Host</th><th>Kind</th><th>Cron</th><th>Missed</th></tr></thead>
          <tbody>
            {props.items.map((o) => (
              <tr><td><a href={`/hosts/${o.host_id}/schedules`}>{o.host_name}</a></td><td>{o.kind}</td><td class="mono">{o.cron_expr}</td><td><RelTime iso={o.missed_at} /></td></tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
