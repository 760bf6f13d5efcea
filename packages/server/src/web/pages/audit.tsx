import type { AuditView } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead } from '../components/layout.js';
import { Empty, FilterSelect, Pager, RelTime, withQuery } from '../components/ui.js';

export interface AuditFilterValues {
  actor?: string | undefined;
  action?: string | undefined;
  target_kind?: string | undefined;
  target_id?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

const TARGET_HREF: Record<string, (id: string) => string> = { host: (id) => `/hosts/${id}`, job: (id) => `/jobs/${id}` };

export function AuditPage(props: { viewer: Viewer; filter: AuditFilterValues; audit: { items: AuditView[]; total: number; limit: number; offset: number } }) {
  const f = props.filter;
  const a = props.audit;
  return (
    <Layout title="Audit log" viewer={props.viewer} active="audit">
      <PageHead title="Audit log" sub="Every state-changing action and every command sent to an agent. Secrets are never recorded." />
      <section class="card">
        <div class="card-head">
          <form class="form inline" method="get" action="/audit">
            <FilterSelect id="f-actor" name="actor" label="Actor" all="Any actor" options={['user', 'agent', 'system']} selected={f.actor} />
            <label class="sr-only" for="f-action">Action</label>
            <input id="f-action" name="action" placeholder="Action, e.g. job.run" value={f.action ?? ''} />
            <FilterSelect id="f-target-kind" name="target_kind" label="Target kind" all="Any target" options={['host', 'job', 'user', 'schedule', 'alert', 'repo']} selected={f.target_kind} />
            <label class="sr-only" for="f-target-id">Target id</label>
            <input id="f-target-id" name="target_id" placeholder="Target id" value={f.target_id ?? ''} />
            <label class="sr-only" for="f-since">Since</label>
            <input id="f-since" name="since" type="date" value={f.since?.slice(0, 10) ?? ''} title="Since" />
            <button class="btn small" type="submit">Filter</button>
            {Object.values(f).some(Boolean) ? <a class="btn small link" href="/audit">Clear</a> : null}
          </form>
        </div>
        {a.items.length === 0 ? (
          <Empty title="No audit entries match" />
        ) : (
          <div class="table-wrap">
            <table>
              <thead><tr><th>When</th><th>Actor</th><th>Action</th><th>Target</th><th class="hide-sm">Details</th></tr></thead>
              <tbody>
                {a.items.map((e) => (
                  <tr>
                    <td class="nowrap"><RelTime iso={e.ts} /></td>
                    <td>{e.actor_name ?? <span class="muted">{e.actor}</span>}{e.actor_name ? <div class="host-sub">{e.actor}</div> : null}</td>
                    <td class="mono">{e.action}</td>
                    <td>
                      {e.target_kind ? <span class="muted">{e.target_kind} </span> : null}
                      {e.target_id ? (
                        TARGET_HREF[e.target_kind ?? ''] ? <a class="mono" href={TARGET_HREF[e.target_kind ?? '']?.(e.target_id)}>{e.target_id.slice(0, 8)}</a> : <span class="mono">{e.target_id.slice(0, 8)}</span>
                      ) : null}
                    </td>
                    <td class="hide-sm mono faint" style="max-width:480px;overflow-wrap:anywhere;font-size:.8rem">{Object.keys(e.payload).length ? JSON.stringify(e.payload) : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager total={a.total} limit={a.limit} offset={a.offset} href={(o) => withQuery('/audit', { ...f, offset: o || undefined })} />
      </section>
    </Layout>
  );
}
