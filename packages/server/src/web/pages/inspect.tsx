import type { ForgetPreviewView, SnapshotDiffView, SnapshotView } from '@restic-manager/protocol';
import { fmtBytes, fmtCount } from '../components/format.js';
import { Badge, RelTime, Tags } from '../components/ui.js';

/*
 * Issue 16 partials: "What changed" on the restore page (a paged restic diff between a snapshot
 * and its parent or another snapshot) and the retention preview of the schedule editor.
 */

export const diffUrl = (hostId: string, snap: string, against = 'parent', offset = 0): string =>
  `/partials/hosts/${hostId}/snapshots/${snap}/diff?against=${encodeURIComponent(against)}${offset ? `&offset=${offset}` : ''}`;

const MODIFIER: Record<string, { tone: 'ok' | 'danger' | 'warn' | 'info' | 'neutral'; label: string }> = {
  '+': { tone: 'ok', label: 'added' },
  '-': { tone: 'danger', label: 'removed' },
  M: { tone: 'info', label: 'modified' },
  T: { tone: 'warn', label: 'type changed' },
  U: { tone: 'neutral', label: 'metadata' },
  '?': { tone: 'danger', label: 'bitrot?' },
};

/** The collapsed "What changed" card; the diff runs on the host only when it is opened. */
export function WhatChangedCard(props: { hostId: string; snapshot: SnapshotView; online: boolean }) {
  return (
    <details class="card" id="what-changed" {...(props.online ? { 'hx-get': diffUrl(props.hostId, props.snapshot.id), 'hx-trigger': 'toggle once', 'hx-target': '#what-changed-body', 'hx-swap': 'innerHTML' } : {})}>
      <summary class="card-head"><h2>What changed</h2> <span class="muted">in this snapshot, compared with the previous one of the same paths</span></summary>
      <div class="card-body" id="what-changed-body">
        {props.online ? <p class="muted">Comparing the snapshots on the host (restic diff)…</p> : <div class="alert-box warn">The agent is offline, so the snapshots cannot be compared.</div>}
      </div>
    </details>
  );
}

/** One page of a diff with restic's statistics, a choice of the other snapshot and previous/next links. */
export function DiffPanel(props: { hostId: string; against: string; view: SnapshotDiffView; others: SnapshotView[] }) {
  const v = props.view;
  const url = (offset: number, against = props.against): string => diffUrl(props.hostId, v.to.id, against, offset);
  const nav = (offset: number, label: string) => (
    <button type="button" class="btn small" hx-get={url(offset)} hx-target="#what-changed-body" hx-swap="innerHTML">{label}</button>
  );
  return (
    <div class="stack" id="diff-panel" data-total-changes={v.total_changes}>
      <form class="form inline" hx-get={`/partials/hosts/${props.hostId}/snapshots/${v.to.id}/diff`} hx-trigger="change" hx-target="#what-changed-body" hx-swap="innerHTML">
        <label for="f-against">Compared with</label>
        <select id="f-against" name="against">
          <option value="parent" selected={props.against === 'parent'}>the previous snapshot of the same paths</option>
          {props.others.filter((s) => s.id !== v.to.id).map((s) => (
            <option value={s.id} selected={props.against === s.id}>{s.short_id} · {s.time.slice(0, 16).replace('T', ' ')} · {s.paths.join(', ')}</option>
          ))}
        </select>
      </form>
      <p id="diff-summary">
        From <span class="mono" title={v.from.id}>{v.from.short_id}</span> (<RelTime iso={v.from.time} />) to <span class="mono" title={v.to.id}>{v.to.short_id}</span> (<RelTime iso={v.to.time} />):{' '}
        <strong>{fmtCount(v.added.files)}</strong> files added, <strong>{fmtCount(v.removed.files)}</strong> removed, <strong>{fmtCount(v.changed_files)}</strong> changed;{' '}
        {fmtCount(v.added.dirs)} directories added, {fmtCount(v.removed.dirs)} removed; data <strong>+{fmtBytes(v.added.bytes)}</strong> / <strong>−{fmtBytes(v.removed.bytes)}</strong>.
      </p>
      {v.changes.length === 0 ? <p class="muted">{v.total_changes === 0 ? 'Nothing changed.' : 'No more changes.'}</p> : (
        <div class="table-wrap">
          <table id="diff-changes">
            <thead><tr><th>Change</th><th>Path</th></tr></thead>
            <tbody>
              {v.changes.map((c) => {
                const m = MODIFIER[c.modifier[0] ?? ''] ?? { tone: 'neutral' as const, label: c.modifier };
                return (
                  <tr data-modifier={c.modifier}>
                    <td class="nowrap"><Badge tone={m.tone} plain title={m.label}>{c.modifier}</Badge> <span class="muted hide-sm">{m.label}</span></td>
                    <td class="mono" style="overflow-wrap:anywhere">{c.path}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Changes">
        <span>{v.changes.length ? `Showing ${fmtCount(v.offset + 1)}–${fmtCount(v.offset + v.changes.length)} of ${fmtCount(v.total_changes)} changes` : `${fmtCount(v.total_changes)} changes`}</span>
        <span class="links">
          {v.offset > 0 ? nav(Math.max(0, v.offset - v.limit), 'Previous') : null}
          {v.has_more ? nav(v.offset + v.changes.length, 'Next') : null}
        </span>
      </nav>
    </div>
  );
}

export function InspectError(props: { message: string }) {
  return <div class="alert-box warn" role="alert">{props.message}</div>;
}

const RULE_LABEL: Record<string, string> = {
  keep_last: 'keep last', keep_hourly: 'keep hourly', keep_daily: 'keep daily', keep_weekly: 'keep weekly',
  keep_monthly: 'keep monthly', keep_yearly: 'keep yearly', keep_within: 'keep within', keep_tag: 'keep tag',
};

/** The kept/removed table of a retention preview: removed first, then kept with the rules that keep each. */
export function ForgetPreviewTable(props: { view: ForgetPreviewView }) {
  const v = props.view;
  type Row = ForgetPreviewView['keep'][number] & { action: 'keep' | 'remove' };
  const rows: Row[] = [...v.remove.map((s) => ({ ...s, action: 'remove' as const })), ...v.keep.map((s) => ({ ...s, action: 'keep' as const }))];
  return (
    <div class="stack" id="forget-preview-result">
      <p>
        This policy would keep <strong id="preview-keep-count">{fmtCount(v.keep_count)}</strong> and remove <strong id="preview-remove-count">{fmtCount(v.remove_count)}</strong> snapshot(s).{' '}
        <span class="muted">A dry run (restic forget --dry-run): nothing was removed.</span>
        {v.truncated ? <span class="muted"> Only the first {fmtCount(rows.length)} are listed.</span> : null}
      </p>
      {rows.length ? (
        <div class="table-wrap">
          <table id="forget-preview-table">
            <thead><tr><th></th><th>Snapshot</th><th>Why</th></tr></thead>
            <tbody>
              {rows.map((s) => (
                <tr data-snapshot-id={s.id} data-action={s.action}>
                  <td>{s.action === 'keep' ? <Badge tone="ok">keep</Badge> : <Badge tone="danger">remove</Badge>}</td>
                  <td title={`${s.hostname}: ${s.paths.join(', ')}`}>
                    <span class="mono" title={s.id}>{s.short_id}</span> <time class="nowrap" datetime={s.time}>{s.time.slice(0, 16).replace('T', ' ')}</time> <Tags tags={s.tags} />
                    <div class="muted mono" style="overflow-wrap:anywhere">{s.hostname} · {s.paths.join(', ')}</div>
                  </td>
                  <td>{s.action === 'keep'
                    ? s.reasons.map((r, i) => <span class="tag" title={r}>{RULE_LABEL[s.rules[i] ?? ''] ?? r}</span>)
                    : <span class="muted">no rule keeps it</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : <p class="muted">The repository has no snapshots.</p>}
    </div>
  );
}
