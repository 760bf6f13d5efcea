import type { Child } from 'hono/jsx';
import type { HostView, RestoreDrillSummary } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead, canOperate, isAdmin } from '../components/layout.js';
import { DatabaseRow } from './schedule-databases.js';
import { Field, HostStatusBadge, JobStatusBadge, RelTime, Tabs, Tags } from '../components/ui.js';
import { HostAgentBadge } from '../components/agent-version.js';
import { agentVersionStatus, isOutdated } from '../../services/agent-version.js';
import { DrillNowForm, HostDrillFacts } from './restore-drill.js';

export type HostTab = 'snapshots' | 'jobs' | 'repo' | 'schedules' | 'settings';

const TABS: { id: HostTab; label: string }[] = [
  { id: 'snapshots', label: 'Snapshots' },
  { id: 'jobs', label: 'Jobs' },
  { id: 'repo', label: 'Repo' },
  { id: 'schedules', label: 'Schedules' },
  { id: 'settings', label: 'Settings' },
];

/** Host detail frame: header, "Run now" panel, tabs; `children` is the active tab's content. */
export function HostPage(props: { viewer: Viewer; host: HostView; tab: HostTab; defaultPaths: string[]; self: string; serverVersion?: string; drill?: RestoreDrillSummary | null; drillHosts?: { id: string; name: string }[]; children: Child }) {
  const h = props.host;
  const tabs = TABS.map((t) => ({ ...t, href: t.id === 'snapshots' ? `/hosts/${h.id}` : `/hosts/${h.id}/${t.id}` }));
  return (
    <Layout title={h.name} viewer={props.viewer} active="dashboard">
      <div id="host-head" hx-get={props.self} hx-select="#host-head" hx-trigger="every 10s" hx-swap="outerHTML">
      <PageHead
        crumbs={[{ label: 'Dashboard', href: '/' }]}
        title={
          <span style="display:inline-flex;gap:12px;align-items:center;flex-wrap:wrap">
            {h.name} <HostStatusBadge status={h.status} />
          </span>
        }
        sub={<HostFacts host={h} serverVersion={props.serverVersion ?? ''} admin={isAdmin(props.viewer)} drill={props.drill ?? null} />}
      />
      </div>
      {h.credential_rotation ? (
        <div class="alert-box warn" id="credential-rotation" role="alert" style="margin-bottom:24px">
          <strong>Credential needs rotation.</strong> Since <RelTime iso={h.credential_rotation.since} />, {h.credential_rotation.reason}.
          {isAdmin(props.viewer) ? <> Replace the repository credentials (<a href={`/hosts/${h.id}/settings`}>settings</a> or <span class="mono">PUT /api/hosts/{h.id}/credentials</span>) to clear this.</> : <> An admin should replace its repository credentials.</>}
        </div>
      ) : null}
      {canOperate(props.viewer) && h.enrolled_at ? <RunPanel host={h} defaultPaths={props.defaultPaths} drillHosts={props.drillHosts ?? []} /> : null}
      {!h.enrolled_at ? (
        <div class="alert-box info" style="margin-bottom:24px">
          This host has not enrolled yet. Run the install command shown when it was added
          {isAdmin(props.viewer) ? <>, or <a href={`/hosts/${h.id}/settings`}>generate a new token</a></> : null}.
        </div>
      ) : null}
      <Tabs tabs={tabs} active={props.tab} />
      <div id="tab-panel">
        {props.children}
      </div>
    </Layout>
  );
}

function HostFacts(props: { host: HostView; serverVersion: string; admin: boolean; drill: RestoreDrillSummary | null }) {
  const h = props.host;
  const outdated = h.agent_version != null && props.serverVersion !== '' && isOutdated(agentVersionStatus(h.agent_version, props.serverVersion));
  return (
    <span style="display:inline-flex;gap:4px 16px;flex-wrap:wrap;align-items:center">
      {h.hostname ? <span>{h.hostname}</span> : null}
      {h.os ? <span>{h.os}/{h.arch}</span> : null}
      {h.agent_version ? (
        <span id="host-agent-version">
          agent {h.agent_version} {props.serverVersion ? <HostAgentBadge version={h.agent_version} server={props.serverVersion} /> : null}
          {outdated && props.admin ? (
            <>
              {' '}
              <button class="btn small" type="button" id="agent-update" hx-post={`/hosts/${h.id}/agent/update`} hx-swap="none" title="Sends agent.update.available; the host upgrades with its package manager (restic-manager-agent update)">
                Notify agent to update
              </button>
            </>
          ) : null}
        </span>
      ) : null}
      {h.restic_version ? <span>restic {h.restic_version}</span> : null}
      <span>last seen <RelTime iso={h.last_seen_at} /></span>
      {h.last_backup_status ? (
        <span>
          last backup <RelTime iso={h.last_backup_at} /> <JobStatusBadge status={h.last_backup_status} />
        </span>
      ) : null}
      {h.last_vault_backup_status ? (
        <span id="host-last-vault-backup">
          last vault backup <RelTime iso={h.last_vault_backup_at} /> <JobStatusBadge status={h.last_vault_backup_status} />
        </span>
      ) : null}
      {props.drill ? <HostDrillFacts drill={props.drill} /> : null}
      {h.tags.length ? <span><Tags tags={h.tags} /></span> : null}
    </span>
  );
}

/** "Run now": a backup of the given paths (defaults from the host's backup schedule), or a maintenance job. */
function RunPanel(props: { host: HostView; defaultPaths: string[]; drillHosts: { id: string; name: string }[] }) {
  const h = props.host;
  const busy = h.current_job_id != null;
  return (
    <section class="card" id="run" aria-labelledby="run-h" style="margin-bottom:24px">
      <div class="card-head">
        <h2 id="run-h">Run now</h2>
        {busy ? (
          <span class="muted">
            A job is running — <a href={`/jobs/${h.current_job_id ?? ''}`}>view it</a>
          </span>
        ) : null}
      </div>
      <div class="card-body">
        <form class="form inline run-form" hx-post={`/hosts/${h.id}/run`} novalidate>
          <input type="hidden" name="kind" value="backup" />
          <Field name="args.paths" label="Paths to back up (comma-separated)">
            <input id="f-args.paths" name="args.paths" value={props.defaultPaths.join(', ')} placeholder="/etc, /home" class="input-wide" />
          </Field>
          <Field name="args.tags" label="Tags">
            <input id="f-args.tags" name="args.tags" placeholder="manual" />
          </Field>
          <details class="run-limits" id="run-limits">
            <summary class="muted" style="cursor:pointer;padding-bottom:6px">Bandwidth limits</summary>
            <div class="field-row">
              <Field name="args.limit_upload_kbps" label="Upload (KiB/s)" hint="empty = unlimited">
                <input id="f-args.limit_upload_kbps" name="args.limit_upload_kbps" inputmode="numeric" size={6} />
              </Field>
              <Field name="args.limit_download_kbps" label="Download (KiB/s)">
                <input id="f-args.limit_download_kbps" name="args.limit_download_kbps" inputmode="numeric" size={6} />
              </Field>
            </div>
          </details>
          <details class="run-stop-containers" id="run-stop-containers">
            <summary class="muted" style="cursor:pointer;padding-bottom:6px">Stop containers</summary>
            <Field name="args.stop_containers" label="Containers to stop during the backup" hint="Stopped in this order, started again in reverse order afterwards (also when the backup fails). Comma-separated container names, or labels: label:KEY or label:KEY=VALUE (every running container with that label; compose dependents are stopped first).">
              <input id="f-args.stop_containers" name="args.stop_containers" placeholder="app, label:com.docker.compose.project=shop" class="input-wide" />
            </Field>
          </details>
          <details class="run-databases" id="run-databases">
            <summary class="muted" style="cursor:pointer;padding-bottom:6px">Dump a database</summary>
            <p class="muted" style="margin:0 0 6px">pg_dump / mariadb-dump straight into its own snapshot (tags <code>db:&lt;engine&gt;</code>, <code>db-name:&lt;name&gt;</code>). Clear the paths above to dump only the database.</p>
            <DatabaseRow i={0} d={null} prefix="args.databases" />
          </details>
          <div class="form-actions">
            <button class="btn primary" type="submit" id="run-now">Run now</button>
            <button class="btn" type="button" hx-post={`/hosts/${h.id}/run`} hx-vals='{"kind":"check"}'>Check repo</button>
            <button class="btn" type="button" hx-post={`/hosts/${h.id}/run`} hx-vals='{"kind":"unlock"}' hx-confirm="Remove stale locks from this repository?">Unlock</button>
            {!h.repo_initialised_at ? (
              <button class="btn danger" type="button" hx-post={`/hosts/${h.id}/run`} hx-vals='{"kind":"init"}' hx-confirm="Initialise a new restic repository at this host's URL?">
                Initialise repo
              </button>
            ) : null}
          </div>
        </form>
        {h.repo_id ? <DrillNowForm hostId={h.id} hosts={props.drillHosts} /> : null}
      </div>
    </section>
  );
}
