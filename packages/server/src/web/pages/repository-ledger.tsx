import type { LedgerEntryView, RepositoryView } from '@restic-manager/protocol';
import { fmtBytes } from '../components/format.js';
import type { Viewer } from '../components/layout.js';
import { isAdmin } from '../components/layout.js';
import { Badge, Empty, Pager, RelTime } from '../components/ui.js';

/*
 * The snapshot ledger on the repository page (issue 16, docs/recoverability.md): the "frozen"
 * banner with the admin's acknowledge button, and every snapshot the repository ever listed,
 * gone ones first.
 */

/** Shown while forget/prune on the repository is frozen. */
export function FrozenBanner(props: { viewer: Viewer; repository: RepositoryView }) {
  const r = props.repository;
  if (!r.frozen_since) return null;
  return (
    <div class="alert-box danger" id="repository-frozen" role="alert" data-frozen-since={r.frozen_since}>
      <strong>Forget and prune are frozen</strong> — {r.frozen_reason ?? `frozen since ${r.frozen_since}`}. The ledger below is the evidence.
      {isAdmin(props.viewer) ? (
        <div style="margin-top:8px">
          <button class="btn danger" type="button" hx-post={`/repositories/${r.id}/ledger/acknowledge`}
            hx-confirm="Acknowledge: you checked why these snapshots vanished or the keys changed, and forget/prune may run again?">Acknowledge and unfreeze</button>
        </div>
      ) : <> An admin must acknowledge it.</>}
    </div>
  );
}

/** The ledger table: gone snapshots first (with the job that removed them, or "vanished"). */
export function LedgerSection(props: { repositoryId: string; page: { items: LedgerEntryView[]; total: number; limit: number; offset: number } }) {
  const p = props.page;
  return (
    <section class="card" id="ledger">
      <div class="card-head"><h2>Snapshot ledger</h2></div>
      {p.items.length === 0 ? (
        <Empty title="No snapshots listed yet">Every snapshot a listing of this repository shows is recorded here, and kept after it is gone.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Snapshot</th><th>Time</th><th>Host</th><th>Paths</th><th class="num">Size</th><th>Last seen</th><th>State</th></tr></thead>
            <tbody>
              {p.items.map((s) => (
                <tr data-ledger-snapshot={s.short_id} data-state={stateOf(s)}>
                  <td class="mono">{s.short_id}</td>
                  <td><RelTime iso={s.time} /></td>
                  <td>{s.hostname}</td>
                  <td class="mono" style="overflow-wrap:anywhere">{s.paths.join(', ')}</td>
                  <td class="num">{fmtBytes(s.size_bytes)}</td>
                  <td><RelTime iso={s.last_seen_at} /></td>
                  <td><State entry={s} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager total={p.total} limit={p.limit} offset={p.offset} href={(o) => `/repositories/${props.repositoryId}?ledger_offset=${o}#ledger`} />
    </section>
  );
}

function stateOf(s: LedgerEntryView): 'present' | 'removed' | 'vanished' | 'acknowledged' {
  if (!s.gone_at) return 'present';
  if (s.removed_by_job_id) return 'removed';
  return s.acknowledged_at ? 'acknowledged' : 'vanished';
}

function State(props: { entry: LedgerEntryView }) {
  const s = props.entry;
  switch (stateOf(s)) {
    case 'present': return <Badge tone="ok" plain>present</Badge>;
    case 'removed': return <span><Badge tone="neutral" plain>removed</Badge> by <a href={`/jobs/${s.removed_by_job_id ?? ''}`}>job</a> <RelTime iso={s.gone_at} /></span>;
    case 'acknowledged': return <span><Badge tone="warn" plain>vanished</Badge> <RelTime iso={s.gone_at} />, acknowledged</span>;
    default: return <span><Badge tone="danger">vanished</Badge> <RelTime iso={s.gone_at} /></span>;
  }
}
