import type { HostView, RepoView, ScheduleView, SnapshotView } from '@restic-manager/protocol';
import { fmtBytes, fmtCount } from '../components/format.js';
import type { JobListData } from '../components/jobs-table.js';
import { JobFilters, JobsTable } from '../components/jobs-table.js';
import type { Viewer } from '../components/layout.js';
import { canOperate, isAdmin } from '../components/layout.js';
import { Badge, Empty, Field, Pager, RelTime, Tags, withQuery } from '../components/ui.js';
import { LockStateBadge } from './repo-locks.js';

export interface SnapshotListData {
  items: SnapshotView[];
  total: number;
  limit: number;
  offset: number;
  filter: { tag?: string | undefined; path?: string | undefined; since?: string | undefined; until?: string | undefined };
}

export function SnapshotsTab(props: { host: HostView; snapshots: SnapshotListData; self: string; viewer?: Viewer }) {
  const restore = props.viewer ? canOperate(props.viewer) : false;
  const s = props.snapshots;
  const base = `/hosts/${props.host.id}`;
  const f = s.filter;
  return (
    <section class="card">
      <div class="card-head">
        <h2>Snapshots</h2>
        <form class="form inline" method="get" action={base}>
          <label class="sr-only" for="f-snap-tag">Tag</label>
          <input id="f-snap-tag" name="tag" placeholder="Tag" value={f.tag ?? ''} />
          <label class="sr-only" for="f-snap-path">Path</label>
          <input id="f-snap-path" name="path" placeholder="Path, e.g. /etc" value={f.path ?? ''} />
          <label class="sr-only" for="f-snap-since">Since</label>
          <input id="f-snap-since" name="since" type="date" value={f.since?.slice(0, 10) ?? ''} title="Since" />
          <label class="sr-only" for="f-snap-until">Until</label>
          <input id="f-snap-until" name="until" type="date" value={f.until?.slice(0, 10) ?? ''} title="Until" />
          <button class="btn small" type="submit">Filter</button>
        </form>
      </div>
      <div id="snapshot-list" hx-get={props.self} hx-select="#snapshot-list" hx-trigger="every 10s" hx-swap="outerHTML">
      {s.items.length === 0 ? (
        <Empty title={f.tag || f.path || f.since || f.until ? 'No snapshots match this filter' : 'No snapshots yet'}>
          <div>{props.host.enrolled_at ? 'Snapshots appear here after the first successful backup.' : 'The host has not enrolled yet.'}</div>
        </Empty>
      ) : (
        <div class="table-wrap">
          <table id="snapshots">
            <thead>
              <tr>
                <th>ID</th>
                <th>Time</th>
                <th>Paths</th>
                <th class="hide-sm">Tags</th>
                <th class="num hide-sm">Files</th>
                <th class="num">Size</th>
                {restore ? <th><span class="sr-only">Actions</span></th> : null}
              </tr>
            </thead>
            <tbody>
              {s.items.map((snap) => (
                <tr data-snapshot-id={snap.id}>
                  <td class="mono" title={snap.id}>{snap.short_id}</td>
                  <td class="nowrap"><RelTime iso={snap.time} /></td>
                  <td class="mono" style="overflow-wrap:anywhere">{snap.paths.join(', ')}</td>
                  <td class="hide-sm"><Tags tags={snap.tags} /></td>
                  <td class="num hide-sm">{fmtCount(snap.file_count)}</td>
                  <td class="num">{fmtBytes(snap.size_bytes)}</td>
                  {restore ? <td class="nowrap"><a class="btn small" href={`${base}/restore?snapshot=${snap.id}`} data-restore={snap.id}>Restore</a></td> : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager total={s.total} limit={s.limit} offset={s.offset} href={(o) => withQuery(base, { ...f, offset: o || undefined })} />
      </div>
    </section>
  );
}

export function JobsTab(props: { host: HostView; jobs: JobListData; self: string }) {
  const base = `/hosts/${props.host.id}/jobs`;
  return (
    <section class="card">
      <div class="card-head">
        <h2>Jobs</h2>
        <JobFilters action={base} filter={props.jobs.filter} />
      </div>
      <JobsTable jobs={props.jobs} basePath={base} poll={props.self} />
    </section>
  );
}

export function RepoFacts(props: { repo: RepoView }) {
  const r = props.repo;
  return (
    <dl class="kv">
      <dt>URL</dt>
      <dd class="mono">{r.url}</dd>
      <dt>Kind</dt>
      <dd>{r.kind}</dd>
      <dt>Size</dt>
      <dd>{fmtBytes(r.size_bytes)}</dd>
      <dt>Snapshots</dt>
      <dd>{fmtCount(r.snapshot_count)}</dd>
      <dt>Dedup ratio</dt>
      <dd>{r.dedup_ratio != null ? `${r.dedup_ratio.toFixed(2)}×` : '—'}</dd>
      <dt>Last check</dt>
      <dd>
        <RelTime iso={r.last_check_at} />{' '}
        {r.last_check_status ? <Badge tone={r.last_check_status === 'succeeded' ? 'ok' : 'danger'}>{r.last_check_status}</Badge> : null}
      </dd>
      <dt>Lock</dt>
      <dd><LockStateBadge state={r.lock_state} /></dd>
      <dt>Credential</dt>
      <dd>
        {r.append_only ? <Badge tone="ok" plain>append-only</Badge> : <Badge tone="warn" plain>full access</Badge>}{' '}
        {r.rest_username ? <span class="muted">REST user {r.rest_username}</span> : null}{' '}
        {r.has_password ? <span class="muted">· password stored (encrypted)</span> : <span class="muted">· no password</span>}
      </dd>
      <dt>Credential rotated</dt>
      <dd><RelTime iso={r.credential_rotated_at} /></dd>
    </dl>
  );
}

export function RepoTab(props: { repo: RepoView | null }) {
  return (
    <section class="card">
      <div class="card-head"><h2>Repository</h2></div>
      <div class="card-body">
        {props.repo ? <RepoFacts repo={props.repo} /> : <Empty title="No repository yet">The repository is attached when the agent enrolls.</Empty>}
      </div>
    </section>
  );
}

export function SchedulesTab(props: { host: HostView; schedules: ScheduleView[] }) {
  const h = props.host;
  const drift = h.applied_schedule_version != null && h.applied_schedule_version < h.schedule_version;
  return (
    <section class="card">
      <div class="card-head">
        <h2>Schedules</h2>
        <span class="muted" style="font-size:.88rem">
          {drift ? `schedule v${h.schedule_version} pushed, agent applied v${h.applied_schedule_version ?? 0}` : `version ${h.schedule_version}${h.applied_schedule_version != null ? `, agent applied v${h.applied_schedule_version}` : ''}`}{' '}
          {drift ? <Badge tone="warn">agent behind</Badge> : null}
        </span>
      </div>
      {props.schedules.length === 0 ? (
        <Empty title="No schedules">Add one below (or POST /api/hosts/:id/schedules).</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr><th>Kind</th><th>When</th><th>Paths</th><th class="hide-sm">Retention</th><th class="hide-sm">Hooks</th><th>Enabled</th></tr>
            </thead>
            <tbody>
              {props.schedules.map((s) => (
                <tr>
                  <td>{s.kind}</td>
                  <td class="mono">{s.cron_expr}{s.time_zone ? <span class="faint"> {s.time_zone}</span> : null}</td>
                  <td class="mono">{s.paths.join(', ') || (s.databases?.length ? null : <span class="faint">—</span>)}{s.databases?.length ? <div class="db-list">{s.databases.map((d) => `${d.engine}:${d.all ? '*' : d.database ?? ''}${d.container ? `@${d.container}` : ''}`).join(', ')}</div> : null}<div><Tags tags={s.tags} /></div></td>
                  <td class="hide-sm mono">{s.retention_policy ? Object.entries(s.retention_policy).map(([k, v]) => `${k.replace('keep_', '')}=${String(v)}`).join(' ') : <span class="faint">—</span>}</td>
                  <td class="hide-sm">{s.has_pre_hook || s.has_post_hook ? [s.has_pre_hook ? 'pre' : '', s.has_post_hook ? 'post' : ''].filter(Boolean).join(' + ') : <span class="faint">—</span>}</td>
                  <td>{s.enabled ? <Badge tone="ok">on</Badge> : <Badge tone="neutral">off</Badge>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function SettingsTab(props: { viewer: Viewer; host: HostView }) {
  const h = props.host;
  if (!canOperate(props.viewer)) {
    return (
      <section class="card">
        <div class="card-head"><h2>Settings</h2></div>
        <div class="card-body"><dl class="kv"><dt>Tags</dt><dd><Tags tags={h.tags} /></dd><dt>Host id</dt><dd class="mono">{h.id}</dd></dl></div>
      </section>
    );
  }
  return (
    <div class="stack">
      <section class="card">
        <div class="card-head"><h2>Tags</h2></div>
        <div class="card-body">
          <form class="form inline" hx-post={`/hosts/${h.id}/tags`} novalidate>
            <Field name="tags" label="Tags" hint="Comma-separated.">
              <input id="f-tags" name="tags" value={h.tags.join(', ')} class="input-wide" />
            </Field>
            <div class="form-actions beside-hint"><button class="btn" type="submit">Save tags</button></div>
          </form>
        </div>
      </section>
      {isAdmin(props.viewer) ? (
      <section class="card">
        <div class="card-head"><h2>Enrollment</h2></div>
        <div class="card-body" id="regen">
          <p class="muted" style="margin-top:0">Generate a new one-time enrollment token, e.g. to re-install the agent. Unused older tokens stop working.</p>
          <button class="btn" hx-post={`/hosts/${h.id}/token`} hx-target="#regen" hx-swap="innerHTML" hx-confirm="Generate a new enrollment token for this host?">
            Generate new token
          </button>
          <div class="muted" style="margin-top:12px;font-size:.88rem">Host id <code>{h.id}</code></div>
        </div>
      </section>
      ) : null}
      {isAdmin(props.viewer) ? (
        <section class="card" style="border-color:var(--danger)">
          <div class="card-head"><h2 style="color:var(--danger)">Delete host</h2></div>
          <div class="card-body">
            <p style="margin-top:0">
              Removes the host, its jobs, snapshot list and schedules from restic-manager and disconnects its agent. The backup data in the repository is not touched.
            </p>
            <form class="form inline" hx-delete={`/hosts/${h.id}`} novalidate>
              <Field name="confirm" label={`Type the host name (${h.name}) to confirm`}>
                <input id="f-confirm" name="confirm" autocomplete="off" />
              </Field>
              <div class="form-actions" style="padding-bottom:2px"><button class="btn danger solid" type="submit">Delete host</button></div>
            </form>
          </div>
        </section>
      ) : null}
    </div>
  );
}
