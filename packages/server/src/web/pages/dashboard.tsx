import type { Child } from 'hono/jsx';
import type { HostView } from '@restic-manager/protocol';
import { fmtBytes, fmtCount, shortId } from '../components/format.js';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead, canOperate, isAdmin } from '../components/layout.js';
import { Badge, Empty, FilterSelect, HostStatusBadge, JobStatusBadge, Pager, RelTime, StatCard, Tags, withQuery } from '../components/ui.js';
import { HostAgentBadge } from '../components/agent-version.js';
import { Sparkline } from '../components/chart.js';

export interface FleetData {
  hosts_total: number;
  hosts_by_status: Record<string, number>;
  total_repo_bytes: number;
  open_alerts: number;
  running_jobs: number;
  jobs_24h: Record<string, number>;
  /** Enrolled agents, how many are behind the server's version (services/agent-version.ts). */
  agents?: { agents: number; outdated: number; server_version: string };
  /** Fleet total repository bytes per UTC day (oldest first), for the sparkline. */
  size_trend?: { day: string; total_bytes: number }[];
}

export interface HostListData {
  items: HostView[];
  total: number;
  limit: number;
  offset: number;
  filter: { tag?: string | undefined; status?: string | undefined };
  /** Every tag in use, for the filter menu. */
  tags: string[];
}

const STATUSES = ['online', 'degraded', 'offline', 'pending'] as const;

export function DashboardPage(props: { viewer: Viewer; fleet: FleetData; hosts: HostListData; overdue?: Child; copies?: Child }) {
  const v = props.viewer;
  return (
    <Layout title="Dashboard" viewer={v} active="dashboard" openAlerts={props.fleet.open_alerts}>
      <PageHead
        title="Dashboard"
        sub="Backup state of every host. Refreshes every 10 seconds."
        actions={isAdmin(v) ? <a class="btn primary" href="/hosts/new">+ Add host</a> : null}
      />
      <FleetSummary fleet={props.fleet} />
      {props.overdue ?? null}
      {props.copies ?? null}
      <section class="card" aria-labelledby="hosts-h">
        <div class="card-head">
          <h2 id="hosts-h">Hosts</h2>
          <HostFilters filter={props.hosts.filter} tags={props.hosts.tags} />
        </div>
        <HostTable viewer={v} hosts={props.hosts} serverVersion={props.fleet.agents?.server_version ?? ''} />
      </section>
    </Layout>
  );
}

export function FleetSummary(props: { fleet: FleetData; poll?: boolean }) {
  const f = props.fleet;
  const j = f.jobs_24h;
  return (
    <div class="stats" id="fleet" hx-get="/partials/fleet" hx-trigger="every 10s" hx-swap="outerHTML">
      <StatCard
        label="Hosts"
        value={fmtCount(f.hosts_total)}
        detail={STATUSES.filter((s) => (f.hosts_by_status[s] ?? 0) > 0).map((s) => (
          <a href={withQuery('/', { status: s })}><HostStatusBadge status={s} /> <span class="muted">{f.hosts_by_status[s]}</span></a>
        ))}
      />
      <StatCard
        label="Repository data"
        value={fmtBytes(f.total_repo_bytes)}
        detail={
          <span class="stat-trend">
            {Sparkline({ id: 'fleet-size-trend', title: 'Fleet repository size, last 90 days', fmt: fmtBytes, points: (f.size_trend ?? []).map((p) => ({ ts: `${p.day}T00:00:00.000Z`, value: p.total_bytes })) })}
            <span>across all repositories</span>
          </span>
        }
      />
      {f.agents ? (
        <StatCard
          label="Agents"
          value={<span id="agents-outdated" style={f.agents.outdated > 0 ? 'color:var(--warn)' : ''}>{f.agents.outdated > 0 ? `${fmtCount(f.agents.outdated)} outdated` : 'all current'}</span>}
          detail={<span>{`${fmtCount(f.agents.outdated)} of ${fmtCount(f.agents.agents)} behind server ${f.agents.server_version}`}</span>}
        />
      ) : null}
      <StatCard
        label="Open alerts"
        value={<span style={f.open_alerts > 0 ? 'color:var(--danger)' : ''}>{fmtCount(f.open_alerts)}</span>}
        href="/alerts"
        detail={<span>{f.open_alerts === 0 ? 'all clear' : 'need attention'}</span>}
      />
      <StatCard
        label="Jobs, last 24 h"
        value={fmtCount(Object.values(j).reduce((a, b) => a + b, 0))}
        href="/jobs"
        detail={
          <>
            {(['succeeded', 'failed', 'running', 'queued', 'cancelled'] as const)
              .filter((s) => (j[s] ?? 0) > 0)
              .map((s) => (
                <a href={withQuery('/jobs', { status: s })}><JobStatusBadge status={s} /> <span class="muted">{j[s]}</span></a>
              ))}
            {Object.keys(j).length === 0 ? <span>no jobs yet</span> : null}
          </>
        }
      />
    </div>
  );
}

function HostFilters(props: { filter: HostListData['filter']; tags: string[] }) {
  return (
    <form class="form inline" method="get" action="/" hx-get="/partials/hosts" hx-target="#hosts" hx-swap="outerHTML" hx-push-url="true" hx-trigger="change">
      <FilterSelect id="f-status" name="status" label="Status" all="All statuses" options={STATUSES} selected={props.filter.status} />
      <FilterSelect id="f-tag" name="tag" label="Tag" all="All tags" options={props.tags} selected={props.filter.tag} />
      <noscript><button class="btn small" type="submit">Filter</button></noscript>
    </form>
  );
}

/** The polled host table (also the `/partials/hosts` response). */
export function HostTable(props: { viewer: Viewer; hosts: HostListData; serverVersion: string }) {
  const h = props.hosts;
  const q = { tag: h.filter.tag, status: h.filter.status };
  const poll = withQuery('/partials/hosts', { ...q, offset: h.offset || undefined });
  const operate = canOperate(props.viewer);
  return (
    <div id="hosts" hx-get={poll} hx-trigger="every 10s" hx-swap="outerHTML">
      {h.items.length === 0 ? (
        h.filter.tag || h.filter.status ? (
          <Empty title="No hosts match this filter"><a href="/">Clear the filter</a></Empty>
        ) : (
          <Empty title="No hosts yet">
            <div>Add a host, then run the one-line installer on it. It appears here when its agent enrolls.</div>
            {props.viewer.role === 'admin' ? <a class="btn primary" href="/hosts/new">+ Add host</a> : null}
          </Empty>
        )
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Host</th>
                <th class="hide-sm">Status</th>
                <th>Last backup</th>
                <th class="num hide-sm">Repo size</th>
                <th class="num hide-sm">Snapshots</th>
                <th class="num hide-sm">Alerts</th>
                <th class="hide-sm">Agent</th>
                <th class="hide-sm">Running</th>
                {operate ? <th class="hide-sm"><span class="sr-only">Actions</span></th> : null}
              </tr>
            </thead>
            <tbody>
              {h.items.map((host) => (
                <HostRow host={host} operate={operate} serverVersion={props.serverVersion} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager total={h.total} limit={h.limit} offset={h.offset} href={(o) => withQuery('/', { ...q, offset: o || undefined })} />
    </div>
  );
}

function HostRow(props: { host: HostView; operate: boolean; serverVersion: string }) {
  const h = props.host;
  return (
    <tr class="row-link" data-host-id={h.id}>
      <td>
        <a class="stretched host-name" id={`host-link-${h.id}`} href={`/hosts/${h.id}`}>{h.name}</a>
        <div class="host-sub">
          {h.hostname && h.hostname !== h.name ? <span>{h.hostname} </span> : null}
          <Tags tags={h.tags} />
          <span class="show-sm"> <HostStatusBadge status={h.status} /></span>
          {h.open_alert_count > 0 ? <span class="show-sm"> <Badge tone="danger" plain>{h.open_alert_count} alert{h.open_alert_count === 1 ? '' : 's'}</Badge></span> : null}
        </div>
      </td>
      <td class="hide-sm"><HostStatusBadge status={h.status} /></td>
      <td class="nowrap">
        {/* A host backed up only to its vault shows that backup, not "never" (decision server-0008). */}
        {h.last_backup_at || !h.last_vault_backup_at ? (
          <div><RelTime iso={h.last_backup_at} /> {h.last_backup_status ? <JobStatusBadge status={h.last_backup_status} /> : null}</div>
        ) : null}
        {h.last_vault_backup_at ? (
          <div id={`host-vault-backup-${h.id}`}>
            <span class="muted">vault</span> <RelTime iso={h.last_vault_backup_at} /> {h.last_vault_backup_status ? <JobStatusBadge status={h.last_vault_backup_status} /> : null}
          </div>
        ) : null}
      </td>
      <td class="num hide-sm">{fmtBytes(h.repo_size_bytes)}</td>
      <td class="num hide-sm">{fmtCount(h.snapshot_count)}</td>
      <td class="num hide-sm">{h.open_alert_count > 0 ? <Badge tone="danger" plain>{h.open_alert_count}</Badge> : <span class="faint">0</span>}</td>
      <td class="hide-sm nowrap agent-cell">
        {h.agent_version ? <span title={`agent ${h.agent_version}`}><HostAgentBadge version={h.agent_version} server={props.serverVersion} /></span> : <span class="faint">—</span>}
      </td>
      <td class="hide-sm">
        {h.current_job_id ? (
          <a class="row-action" id={`host-job-${h.id}`} href={`/jobs/${h.current_job_id}`} title={`Job ${shortId(h.current_job_id)}`}>View →</a>
        ) : (
          <span class="faint">—</span>
        )}
      </td>
      {props.operate ? (
        <td class="num hide-sm">
          {h.status === 'pending' ? (
            <span class="faint">awaiting agent</span>
          ) : (
            <button class="btn small row-action" id={`run-${h.id}`} hx-post={`/hosts/${h.id}/run`} hx-vals='{"kind":"backup"}' disabled={!!h.current_job_id}>
              Run now
            </button>
          )}
        </td>
      ) : null}
    </tr>
  );
}
