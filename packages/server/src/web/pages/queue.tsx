import type { CapList, QueueCap, QueueView } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead, isAdmin } from '../components/layout.js';
import { shortId } from '../components/format.js';
import { Badge, Empty, Field, RelTime } from '../components/ui.js';

/* The queue (issue 21, docs/schedules.md "Concurrency caps"): per cap, the jobs holding its slots
   and those waiting ("waiting for a slot: N ahead"), re-fetched every 5 s; and the caps card
   (admin edits, everyone reads), also shown in Settings. */

const capTitle = (c: { scope: string; key: string }): string => (c.scope === 'fleet' ? 'Fleet-wide' : c.scope === 'tag' ? `Hosts tagged ${c.key}` : `Backend ${c.key}`);

function CapQueue(props: { c: QueueCap }) {
  const c = props.c;
  const full = c.running.length >= c.max_jobs;
  return (
    <section class="card" data-cap={`${c.scope}:${c.key}`}>
      <div class="card-head">
        <h2>{capTitle(c)}</h2>
        <Badge tone={full ? 'warn' : 'ok'}>{c.running.length} of {c.max_jobs} running</Badge>
      </div>
      <div class="card-body">
        {c.running.length === 0 && c.waiting.length === 0 ? <p class="muted" style="margin:0">Nothing running or waiting.</p> : (
          <div class="table-wrap">
            <table>
              <thead><tr><th>Job</th><th>Host</th><th>Kind</th><th>State</th><th>Since</th></tr></thead>
              <tbody>
                {c.running.map((j) => (
                  <tr data-job={j.job_id} data-state="running">
                    <td><a class="mono" href={`/jobs/${j.job_id}`}>{shortId(j.job_id)}</a></td>
                    <td><a href={`/hosts/${j.host_id}`}>{j.host_name}</a></td>
                    <td>{j.kind}</td>
                    <td><Badge tone="info" running>holds a slot</Badge></td>
                    <td><RelTime iso={j.since} /></td>
                  </tr>
                ))}
                {c.waiting.map((j) => (
                  <tr data-job={j.job_id} data-state="waiting">
                    <td><a class="mono" href={`/jobs/${j.job_id}`}>{shortId(j.job_id)}</a></td>
                    <td><a href={`/hosts/${j.host_id}`}>{j.host_name}</a></td>
                    <td>{j.kind}</td>
                    <td data-ahead={j.ahead}><Badge tone="neutral">waiting for a slot: {j.ahead} ahead</Badge></td>
                    <td><RelTime iso={j.since} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </section>
  );
}

/** `#queue`: the part the page re-fetches every 5 s. */
export function QueueBody(props: { q: QueueView }) {
  const q = props.q;
  return (
    <div id="queue" class="stack" hx-get="/queue" hx-select="#queue" hx-trigger="every 5s" hx-swap="outerHTML">
      {q.caps.length === 0
        ? <Empty title="No concurrency caps"><div>Without caps every job starts as soon as its agent takes it. Set caps below (admin) to queue jobs per backend, host tag or fleet-wide.</div></Empty>
        : q.caps.map((c) => <CapQueue c={c} />)}
    </div>
  );
}

const capLine = (c: { scope: string; key: string; max_jobs: number }): string => `${c.scope === 'fleet' ? 'fleet' : `${c.scope}:${c.key}`} ${c.max_jobs}`;

/** The caps: a list for everyone, a one-cap-per-line form for admins (PUT /settings/caps = PUT /api/caps). */
export function CapsCard(props: { caps: CapList; admin: boolean }) {
  const c = props.caps;
  return (
    <section class="card" id="caps">
      <div class="card-head"><h2>Concurrency caps</h2></div>
      <div class="card-body" style="display:grid;gap:12px">
        <p class="muted" style="margin:0">
          At most N backup, check, forget, prune and copy jobs at once: fleet-wide, per host tag, or per repository backend (one S3 endpoint and bucket, one REST server…).
          Later jobs wait in the queue. Scheduled jobs wait too, unless the agent cannot reach the server for 10 minutes.
        </p>
        {c.items.length ? (
          <ul style="margin:0">
            {c.items.map((x) => <li data-cap-item={`${x.scope}:${x.key}`}><span class="mono">{capLine(x)}</span>{x.known ? null : <> <Badge tone="warn">{x.scope === 'tag' ? 'no host has this tag' : 'no repository uses this backend'}</Badge></>}</li>)}
          </ul>
        ) : <p style="margin:0" data-no-caps>No caps: every job starts at once.</p>}
        {props.admin ? (
          <form class="form" hx-put="/settings/caps" hx-target="#caps" hx-swap="outerHTML" novalidate>
            <Field name="caps" label="Caps, one per line" hint={`fleet 4 · tag:<tag> 2 · backend:<key> 1 (max 1000). Backend keys in use: ${c.backend_keys.join(', ') || 'none yet'}. Tags in use: ${c.tags.join(', ') || 'none yet'}.`}>
              <textarea id="f-caps" name="caps" rows={4} class="mono">{c.items.map(capLine).join('\n')}</textarea>
            </Field>
            <div class="form-actions"><button class="btn primary" type="submit">Save caps</button></div>
          </form>
        ) : null}
      </div>
    </section>
  );
}

export function QueuePage(props: { viewer: Viewer; q: QueueView; caps: CapList }) {
  return (
    <Layout title="Queue" viewer={props.viewer} active="queue">
      <PageHead title="Queue" sub={props.q.waiting_total ? `${props.q.waiting_total} job(s) waiting for a slot` : 'No job is waiting for a slot'} />
      <div class="stack">
        <QueueBody q={props.q} />
        <CapsCard caps={props.caps} admin={isAdmin(props.viewer)} />
      </div>
    </Layout>
  );
}
