import type { CopyPolicyView, CopyState, HostCopyStatus } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead, canOperate, isAdmin } from '../components/layout.js';
import { Badge, Empty, Field, RelTime } from '../components/ui.js';

/*
 * Copies (3-2-1, docs/copies.md): the policy list with each host's last copy, the add and edit
 * form, "Run now", and the 3-2-1 status cards of the host page and the dashboard. Policies name
 * repositories only; no secret is rendered.
 */

export interface Named { id: string; name: string }
export interface RepoChoice extends Named { engine: string; backend: string }

const STATE_TONE: Record<string, 'ok' | 'warn' | 'danger' | 'neutral'> = { up_to_date: 'ok', behind: 'warn', failing: 'danger', never: 'neutral', none: 'neutral' };
const STATE_TEXT: Record<string, string> = { up_to_date: 'up to date', behind: 'behind', failing: 'failing', never: 'never copied', none: 'no copies' };

export const CopyStateBadge = (p: { state: CopyState | 'none' }) => <Badge tone={STATE_TONE[p.state] ?? 'neutral'}>{STATE_TEXT[p.state] ?? p.state}</Badge>;
const OffsiteBadge = (p: { offsite: boolean }) => (p.offsite ? <Badge tone="ok" plain>off-site</Badge> : <Badge tone="warn" plain>same site</Badge>);

export function CopiesPage(props: { viewer: Viewer; policies: CopyPolicyView[]; repos: RepoChoice[]; hosts: Named[] }) {
  const repoName = new Map(props.repos.map((r) => [r.id, r.name]));
  const hostName = new Map(props.hosts.map((h) => [h.id, h.name]));
  return (
    <Layout title="Copies" viewer={props.viewer} active="repos">
      <PageHead title="Copies (3-2-1)" crumbs={[{ label: 'Repositories', href: '/repositories' }]}
        sub="Each policy copies a host's snapshots from one repository into another (restic copy), after each backup or on its own schedule." />
      <div class="stack">
        <section class="card" id="copy-policies">
          {props.policies.length === 0 ? (
            <Empty title="No copy policies yet">Add one below: a second repository, ideally on another backend, makes backups 3-2-1.</Empty>
          ) : (
            <div class="table-wrap">
              <table>
                <thead><tr><th>From</th><th>To</th><th>Hosts</th><th>When</th><th>Last copies</th><th></th></tr></thead>
                <tbody>
                  {props.policies.map((p) => (
                    <tr data-copy-policy={p.id}>
                      <td><a href={`/repositories/${p.source_repository_id}`}>{repoName.get(p.source_repository_id) ?? p.source_repository_id}</a></td>
                      <td><a href={`/repositories/${p.target_repository_id}`}>{repoName.get(p.target_repository_id) ?? p.target_repository_id}</a> <OffsiteBadge offsite={p.offsite} /></td>
                      <td>{p.host_id ? <a href={`/hosts/${p.host_id}/repo`}>{hostName.get(p.host_id) ?? p.host_id}</a> : <span class="muted">all hosts of the source</span>}</td>
                      <td>{p.mode === 'schedule' ? <span class="mono">{p.cron_expr} <span class="muted">{p.time_zone}</span></span> : 'after each backup'}{p.enabled ? null : <> <Badge tone="neutral" plain>disabled</Badge></>}</td>
                      <td>
                        {p.runs.length === 0 ? <span class="faint">none yet</span> : p.runs.map((r) => (
                          <div data-copy-run={r.host_id}>
                            {hostName.get(r.host_id) ?? r.host_id}: {r.last_copy_status ? <Badge tone={r.last_copy_status === 'succeeded' ? 'ok' : r.last_copy_status === 'failed' ? 'danger' : 'neutral'} plain>{r.last_copy_status}</Badge> : <span class="muted">queued</span>}{' '}
                            <RelTime iso={r.last_copy_at} empty="" />{r.last_job_id ? <> · <a href={`/jobs/${r.last_job_id}`}>job</a></> : null}
                          </div>
                        ))}
                      </td>
                      <td class="nowrap">
                        {canOperate(props.viewer) ? <button class="btn small" type="button" hx-post={`/copies/${p.id}/run`} hx-swap="none">Run now</button> : null}{' '}
                        {isAdmin(props.viewer) ? <a class="btn small" href={`/copies/${p.id}`}>Edit</a> : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        {isAdmin(props.viewer) ? (
          <section class="card" id="add-copy-policy">
            <div class="card-head"><h2>Add copy policy</h2></div>
            <div class="card-body"><CopyPolicyForm policy={null} repos={props.repos} hosts={props.hosts} /></div>
          </section>
        ) : null}
      </div>
    </Layout>
  );
}

export function CopyPolicyPage(props: { viewer: Viewer; policy: CopyPolicyView; repos: RepoChoice[]; hosts: Named[] }) {
  const src = props.repos.find((r) => r.id === props.policy.source_repository_id);
  return (
    <Layout title="Copy policy" viewer={props.viewer} active="repos">
      <PageHead title={`Copy from ${src?.name ?? props.policy.source_repository_id}`} crumbs={[{ label: 'Copies', href: '/copies' }]} />
      <section class="card" id="edit-copy-policy">
        <div class="card-body"><CopyPolicyForm policy={props.policy} repos={props.repos} hosts={props.hosts} /></div>
      </section>
    </Layout>
  );
}

/** Add (policy null) or edit form; field names are the REST schema's. The source cannot change. */
export function CopyPolicyForm(props: { policy: CopyPolicyView | null; repos: RepoChoice[]; hosts: Named[] }) {
  const p = props.policy;
  const label = (r: RepoChoice) => `${r.name} (${r.backend}, ${r.engine})`;
  return (
    <form class="form" hx-post={p ? `/copies/${p.id}` : '/copies'} novalidate>
      {p ? null : (
        <Field name="source_repository_id" label="Copy from">
          <select id="f-source_repository_id" name="source_repository_id">{props.repos.map((r) => <option value={r.id}>{label(r)}</option>)}</select>
        </Field>
      )}
      <Field name="target_repository_id" label="Copy to" hint="Another repository of the same engine; on another backend or server it counts as off-site.">
        <select id="f-target_repository_id" name="target_repository_id">{props.repos.map((r) => <option value={r.id} selected={p?.target_repository_id === r.id}>{label(r)}</option>)}</select>
      </Field>
      <Field name="host_id" label="Hosts">
        <select id="f-host_id" name="host_id">
          <option value="" selected={!p?.host_id}>every host of the source repository</option>
          {props.hosts.map((h) => <option value={h.id} selected={p?.host_id === h.id}>{h.name}</option>)}
        </select>
      </Field>
      <Field name="mode" label="When">
        <select id="f-mode" name="mode">
          <option value="after_backup" selected={(p?.mode ?? 'after_backup') === 'after_backup'}>after each successful backup</option>
          <option value="schedule" selected={p?.mode === 'schedule'}>on a schedule</option>
        </select>
      </Field>
      <Field name="cron_expr" label="Schedule (cron)" hint="Only for “on a schedule”, e.g. 0 4 * * * (daily at 04:00).">
        <input id="f-cron_expr" name="cron_expr" class="mono" value={p?.cron_expr ?? ''} autocomplete="off" />
      </Field>
      <Field name="time_zone" label="Time zone">
        <input id="f-time_zone" name="time_zone" value={p?.time_zone ?? 'UTC'} autocomplete="off" />
      </Field>
      <Field name="enabled" label="Enabled">
        <label class="check"><input id="f-enabled" name="enabled" type="checkbox" checked={p?.enabled ?? true} /> Copy as configured</label>
      </Field>
      <div class="form-actions">
        <button class="btn primary" type="submit">{p ? 'Save policy' : 'Add policy'}</button>
        {p ? <button class="btn danger" type="button" hx-delete={`/copies/${p.id}`} hx-confirm="Delete this copy policy? Copies already made stay.">Delete</button> : null}
      </div>
    </form>
  );
}

/** The host page's 3-2-1 card: each policy touching the host, its state and whether it is off-site. */
export function HostCopyStatusCard(props: { status: HostCopyStatus; repoNames: Map<string, string> }) {
  const s = props.status;
  return (
    <section class="card" id="host-copy-status" data-copy-state={s.state}>
      <div class="card-head"><h2>Copies (3-2-1)</h2><span><CopyStateBadge state={s.state} /> {s.items.length ? <OffsiteBadge offsite={s.offsite} /> : null} <a class="muted" href="/copies">copy policies</a></span></div>
      {s.items.length === 0 ? (
        <Empty title="No copy of this host's backups">Add a copy policy to keep a second copy, ideally off-site.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead><tr><th>From → to</th><th>State</th><th>Last backup</th><th>Last successful copy</th><th class="hide-sm">Error</th></tr></thead>
            <tbody>
              {s.items.map((i) => (
                <tr data-copy-policy={i.policy_id}>
                  <td>{props.repoNames.get(i.source_repository_id) ?? i.source_repository_id} → {props.repoNames.get(i.target_repository_id) ?? i.target_repository_id} <OffsiteBadge offsite={i.offsite} /></td>
                  <td><CopyStateBadge state={i.state} /></td>
                  <td><RelTime iso={i.last_backup_at} empty="never" /></td>
                  <td><RelTime iso={i.last_success_at} empty="never" /></td>
                  <td class="hide-sm muted">{i.last_error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The dashboard's 3-2-1 card: hosts with copy policies, their worst state; hidden when no policy exists. */
export function FleetCopyCard(props: { items: (HostCopyStatus & { host_name: string })[] }) {
  if (props.items.length === 0) return null;
  const bad = props.items.filter((i) => i.state === 'failing' || i.state === 'behind').length;
  return (
    <section class="card" id="copy-status">
      <div class="card-head"><h2>Copies (3-2-1)</h2>{bad ? <Badge tone="warn">{String(bad)}</Badge> : <Badge tone="ok">all up to date</Badge>}</div>
      <div class="table-wrap">
        <table>
          <thead><tr><th>Host</th><th>Copies</th><th>Off-site</th></tr></thead>
          <tbody>
            {props.items.map((i) => (
              <tr data-host={i.host_id}><td><a href={`/hosts/${i.host_id}/repo`}>{i.host_name}</a></td><td><CopyStateBadge state={i.state} /></td><td>{i.offsite ? 'yes' : <Badge tone="warn" plain>no</Badge>}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
