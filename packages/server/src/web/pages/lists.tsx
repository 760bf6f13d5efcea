import { AlertKind } from '@restic-manager/protocol';
import type { JobListData } from '../components/jobs-table.js';
import { JobFilters, JobsTable } from '../components/jobs-table.js';
import { fmtBytes, fmtCount } from '../components/format.js';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead, canOperate } from '../components/layout.js';
import { Badge, Empty, Pager, RelTime, SeverityBadge, withQuery } from '../components/ui.js';
import type { AlertView, RepoView } from '@restic-manager/protocol';
import { LockStateBadge } from './repo-locks.js';

/* Fleet-wide list pages: jobs, repos, alerts. */

export function JobsPage(props: { viewer: Viewer; jobs: JobListData; hostNames: Map<string, string>; self: string }) {
  return (
    <Layout title="Jobs" viewer={props.viewer} active="jobs">
      <PageHead title="Jobs" sub="Every job across the fleet, newest first." />
      <section class="card">
        <div class="card-head">
          <h2>All jobs</h2>
          <JobFilters action="/jobs" filter={props.jobs.filter} />
        </div>
        <JobsTable jobs={props.jobs} basePath="/jobs" hostNames={props.hostNames} poll={props.self} />
      </section>
    </Layout>
  );
}

export interface RepoListItem extends RepoView {
  hosts: { id: string; name: string }[];
}

export function ReposPage(props: { viewer: Viewer; repos: { items: RepoListItem[]; total: number; limit: number; offset: number } }) {
  const r = props.repos;
  const totalBytes = r.items.reduce((a, x) => a + (x.size_bytes ?? 0), 0);
  const totalSnaps = r.items.reduce((a, x) => a + (x.snapshot_count ?? 0), 0);
  return (
    <Layout title="Repos" viewer={props.viewer} active="repos">
      <PageHead title="Repositories" sub={`${fmtCount(r.total)} repositories · ${fmtBytes(totalBytes)} · ${fmtCount(totalSnaps)} snapshots on this page`} />
      <section class="card">
        {r.items.length === 0 ? (
          <Empty title="No repositories yet">A repository is recorded when a host's agent enrolls.</Empty>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr><th>Repository</th><th>Host</th><th class="num">Size</th><th class="num">Snapshots</th><th class="num hide-sm">Dedup</th><th class="hide-sm">Last check</th><th>Lock</th><th class="hide-sm">Access</th></tr>
              </thead>
              <tbody>
                {r.items.map((repo) => (
                  <tr>
                    <td><div class="mono" style="overflow-wrap:anywhere">{repo.url}</div><div class="host-sub">{repo.kind}</div></td>
                    <td>{repo.hosts.map((h) => <a href={`/hosts/${h.id}/repo`}>{h.name}</a>)}{repo.hosts.length === 0 ? <span class="faint">—</span> : null}</td>
                    <td class="num">{fmtBytes(repo.size_bytes)}</td>
                    <td class="num">{fmtCount(repo.snapshot_count)}</td>
                    <td class="num hide-sm">{repo.dedup_ratio != null ? `${repo.dedup_ratio.toFixed(2)}×` : '—'}</td>
                    <td class="hide-sm nowrap"><RelTime iso={repo.last_check_at} /> {repo.last_check_status ? <Badge tone={repo.last_check_status === 'succeeded' ? 'ok' : 'danger'}>{repo.last_check_status}</Badge> : null}</td>
                    <td><LockStateBadge state={repo.lock_state} /></td>
                    <td class="hide-sm">{repo.append_only ? <Badge tone="ok" plain>append-only</Badge> : <Badge tone="warn" plain>full</Badge>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager total={r.total} limit={r.limit} offset={r.offset} href={(o) => withQuery('/repos', { offset: o || undefined })} />
      </section>
    </Layout>
  );
}

export function AlertsPage(props: { viewer: Viewer; open: boolean; kind?: string | undefined; alerts: { items: AlertView[]; total: number; limit: number; offset: number }; hostNames: Map<string, string> }) {
  const a = props.alerts;
  const operate = canOperate(props.viewer);
  const kind = props.kind;
  return (
    <Layout title="Alerts" viewer={props.viewer} active="alerts">
      <PageHead title="Alerts" sub="Failed backups and checks, overdue schedules, offline agents and unusual repository growth." />
      <nav class="tabs" aria-label="Alert state">
        <a href={withQuery('/alerts', { kind })} aria-current={props.open ? 'page' : undefined}>Open</a>
        <a href={withQuery('/alerts', { open: 'false', kind })} aria-current={!props.open ? 'page' : undefined}>Resolved</a>
      </nav>
      <section class="card" id="alerts">
        <div class="card-head">
          <h2>{props.open ? 'Open alerts' : 'Resolved alerts'}</h2>
          <form class="form inline" method="get" action="/alerts" hx-get="/alerts" hx-target="#alerts" hx-select="#alerts" hx-swap="outerHTML" hx-push-url="true" hx-trigger="change">
            {props.open ? null : <input type="hidden" name="open" value="false" />}
            <label class="sr-only" for="f-alert-kind">Kind</label>
            <select id="f-alert-kind" name="kind">
              <option value="">All kinds</option>
              {AlertKind.options.map((k) => <option value={k} selected={kind === k}>{k}</option>)}
            </select>
            <noscript><button class="btn small" type="submit">Filter</button></noscript>
          </form>
        </div>
        {a.items.length === 0 ? (
          <Empty title={props.open ? 'No open alerts' : 'No resolved alerts'}>{props.open ? 'Everything is healthy.' : null}</Empty>
        ) : (
          <div class="table-wrap">
            <table>
              <thead><tr><th>Severity</th><th>Alert</th><th>Host</th><th>Raised</th><th class="hide-sm">{props.open ? 'Acknowledged' : 'Resolved'}</th><th>State</th>{operate ? <th><span class="sr-only">Actions</span></th> : null}</tr></thead>
              <tbody>
                {a.items.map((al) => (
                  <AlertRow alert={al} hostName={al.host_id ? (props.hostNames.get(al.host_id) ?? null) : null} operate={operate} />
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager total={a.total} limit={a.limit} offset={a.offset} href={(o) => withQuery('/alerts', { open: props.open ? undefined : 'false', kind, offset: o || undefined })} />
      </section>
    </Layout>
  );
}

export function AlertRow(props: { alert: AlertView; hostName: string | null; operate: boolean }) {
  const al = props.alert;
  return (
    <tr id={`alert-${al.id}`}>
      <td><SeverityBadge severity={al.severity} /></td>
      <td><div>{al.message}</div><div class="host-sub">{al.kind}</div></td>
      <td>{al.host_id ? <a href={`/hosts/${al.host_id}`}>{props.hostName ?? al.host_id.slice(0, 8)}</a> : <span class="faint">fleet</span>}</td>
      <td class="nowrap"><RelTime iso={al.created_at} /></td>
      <td class="nowrap hide-sm">{al.resolved_at ? <RelTime iso={al.resolved_at} /> : <RelTime iso={al.acknowledged_at} empty="—" />}</td>
      <td>{al.resolved_at ? <Badge tone="ok">resolved</Badge> : al.acknowledged_at ? <Badge tone="neutral">acknowledged</Badge> : <Badge tone="danger">open</Badge>}</td>
      {props.operate ? (
        <td class="num">
          {!al.acknowledged_at && !al.resolved_at ? (
            <button class="btn small" hx-post={`/alerts/${al.id}/ack`} hx-target={`#alert-${al.id}`} hx-swap="outerHTML">Acknowledge</button>
          ) : null}
        </td>
      ) : null}
    </tr>
  );
}
