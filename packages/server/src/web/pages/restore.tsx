import type { HostView, SnapshotView } from '@restic-manager/protocol';
import { fmtBytes } from '../components/format.js';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead } from '../components/layout.js';
import { Badge, Empty, Field, HostStatusBadge, RelTime, Tags } from '../components/ui.js';
import { DatabaseRestoreCard, dumpOf } from './restore-database.js';
import { WhatChangedCard } from './inspect.js';

/*
 * The restore wizard (spec §8 "host → snapshot → paths → target → confirm"): one page whose
 * steps are cards of one form. Directories load lazily (one `ls` page per expand), Review asks
 * the server what would happen and shows it with the Restore button; nothing runs before that.
 */

export interface LsEntryView { name: string; path: string; type: string; size: number | null; mtime: string | null; mode: number | null }
export interface LsPartial { hostId: string; snapshotId: string; path: string; entries: LsEntryView[]; offset: number; limit: number; hasMore: boolean }

const MAX_REMAP_ROWS = 4;

const lsUrl = (hostId: string, snap: string, path: string, offset = 0): string =>
  `/partials/restore/${hostId}/${snap}/ls?path=${encodeURIComponent(path)}${offset ? `&offset=${offset}` : ''}`;

/** The snapshot browser's Download links (operator+): the web route streams like the REST one, and shows a refusal as a page. */
const downloadUrl = (hostId: string, snap: string, path: string, format?: 'tar' | 'zip'): string =>
  `/hosts/${hostId}/snapshots/${snap}/download?path=${encodeURIComponent(path)}${format ? `&format=${format}` : ''}`;

const modeText = (m: number | null): string => (m === null ? '' : `0${m.toString(8).padStart(3, '0')}`);

export function RestorePage(props: { viewer: Viewer; host: HostView; snapshots: SnapshotView[]; snapshot: SnapshotView | null; hosts: HostView[] }) {
  const h = props.host;
  const snap = props.snapshot;
  const dump = snap ? dumpOf(snap) : null;
  return (
    <Layout title={`Restore · ${h.name}`} viewer={props.viewer} active="dashboard">
      <PageHead crumbs={[{ label: 'Dashboard', href: '/' }, { label: h.name, href: `/hosts/${h.id}` }]} title={<>Restore from {h.name} <HostStatusBadge status={h.status} /></>}
        sub="Pick a snapshot, tick the files and directories to bring back, choose where they go, review, restore." />
      <div class="stack">
        <section class="card" aria-labelledby="rs-snap">
          <div class="card-head"><h2 id="rs-snap">1. Snapshot</h2></div>
          <SnapshotChoice hostId={h.id} snapshots={props.snapshots} chosen={snap?.id ?? null} />
        </section>
        {snap ? <WhatChangedCard hostId={h.id} snapshot={snap} online={h.status === 'online'} /> : null}
        {snap && dump ? <DatabaseRestoreCard host={h} snapshot={snap} dump={dump} /> : null}
        {snap ? (
          <form id="restore-form" class="stack" hx-post={`/hosts/${h.id}/restore/review`} hx-target="#restore-confirm" hx-swap="innerHTML" novalidate>
            <input type="hidden" name="snapshot_id" value={snap.id} />
            {dump ? (
              <details class="card" id="dump-file-restore">
                <summary class="card-head"><h2>Or restore the dump file itself</h2> <span class="muted">e.g. to load it by hand elsewhere</span></summary>
                <div class="card-body stack"><FileSteps host={h} snapshot={snap} hosts={props.hosts} /></div>
              </details>
            ) : <FileSteps host={h} snapshot={snap} hosts={props.hosts} />}
          </form>
        ) : null}
      </div>
      <div id="restore-confirm" style="margin-top:24px"></div>
    </Layout>
  );
}

function FileSteps(props: { host: HostView; snapshot: SnapshotView; hosts: HostView[] }) {
  const h = props.host;
  const snap = props.snapshot;
  return (
    <>
      <section class="card" aria-labelledby="rs-paths">
        <div class="card-head">
          <h2 id="rs-paths">2. Files and directories</h2>
          <span class="muted">Nothing ticked = the whole snapshot. A ticked directory brings everything below it.</span>
        </div>
        <div class="card-body">
          <div class="error" data-field-error="include" hidden role="alert"></div>
          {h.status === 'online' ? (
            <ul class="tree" id="restore-tree" hx-get={lsUrl(h.id, snap.id, '/')} hx-trigger="load" hx-target="this" hx-swap="innerHTML">
              <li class="muted">Loading the snapshot…</li>
            </ul>
          ) : (
            <div class="alert-box warn">The agent of {h.name} is offline, so the snapshot cannot be browsed. Type the paths to restore instead (one per line), or leave it empty for the whole snapshot.</div>
          )}
          <Field name="include_text" label="Paths typed by hand (one per line, absolute)" hint="Added to the ticked ones.">
            <textarea id="f-include_text" name="include_text" rows={2} placeholder={snap.paths[0] ?? '/etc'}></textarea>
          </Field>
        </div>
      </section>
      <TargetCard host={h} hosts={props.hosts} />
      <div class="form-actions">
        <button class="btn primary" type="submit" id="restore-review">Review restore</button>
        <span class="muted">Nothing is restored until you confirm on the next step.</span>
      </div>
    </>
  );
}

function SnapshotChoice(props: { hostId: string; snapshots: SnapshotView[]; chosen: string | null }) {
  if (props.snapshots.length === 0) return <Empty title="No snapshots yet"><div>Run a backup first.</div></Empty>;
  return (
    <div class="table-wrap">
      <table id="restore-snapshots">
        <thead><tr><th></th><th>ID</th><th>Time</th><th>Paths</th><th class="hide-sm">Tags</th><th class="num">Size</th></tr></thead>
        <tbody>
          {props.snapshots.map((s) => (
            <tr data-snapshot-id={s.id} aria-current={s.id === props.chosen ? 'true' : undefined} class={s.id === props.chosen ? 'selected' : undefined}>
              <td>{s.id === props.chosen ? <Badge tone="info" plain>chosen</Badge> : <a class="btn small" href={`/hosts/${props.hostId}/restore?snapshot=${s.id}`}>{dumpOf(s) ? 'Restore into database' : 'Choose'}</a>}</td>
              <td class="mono" title={s.id}>{s.short_id}</td>
              <td class="nowrap"><RelTime iso={s.time} /></td>
              <td class="mono" style="overflow-wrap:anywhere">{s.paths.join(', ')}</td>
              <td class="hide-sm"><Tags tags={s.tags} /></td>
              <td class="num">{fmtBytes(s.size_bytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TargetCard(props: { host: HostView; hosts: HostView[] }) {
  const h = props.host;
  return (
    <section class="card" aria-labelledby="rs-target">
      <div class="card-head"><h2 id="rs-target">3. Where to</h2></div>
      <div class="card-body form" style="max-width:none">
        <Field name="target_host_id" label="Restore onto host" hint="Another host gets a temporary read credential for this host's repository, for this one job.">
          <select id="f-target_host_id" name="target_host_id">
            {props.hosts.map((o) => <option value={o.id} selected={o.id === h.id}>{o.name}{o.id === h.id ? ' (this host)' : ''} — {o.status}</option>)}
          </select>
        </Field>
        <fieldset class="field" style="border:0;padding:0;margin:0">
          <legend style="font-weight:550;font-size:.9rem;margin-bottom:4px;padding:0">Location</legend>
          <label class="radio"><input type="radio" name="restore_to" value="directory" id="f-restore_to-directory" checked /> Alternate directory: files land at <span class="mono">&lt;directory&gt;/&lt;original path&gt;</span></label>
          <label class="radio"><input type="radio" name="restore_to" value="original" id="f-restore_to-original" /> Original location (in place)</label>
          <div class="error" data-field-error="restore_to" hidden role="alert"></div>
        </fieldset>
        <Field name="target" label="Alternate directory" hint="Absolute path on the target host; created when missing. Ignored for the original location.">
          <input id="f-target" name="target" placeholder="/srv/restore" style="max-width:420px" />
        </Field>
        <div class="alert-box warn" id="restore-overwrite">restic overwrites files that already exist at the destination with the snapshot's version; other files there are left alone.</div>
        <div class="field">
          <label>Path remapping (optional)</label>
          <div class="hint">Put a snapshot subtree somewhere else, e.g. <span class="mono">/home/alice</span> → <span class="mono">/home/alice-new</span>. "To" is the exact absolute destination on the target host (not under the alternate directory). "From" must be a ticked path or contain ticked paths.</div>
          <div class="remap-rows">
            {Array.from({ length: MAX_REMAP_ROWS }, (_, i) => (
              <div class="remap-row">
                <input id={`f-remap.${i}.from`} name={`remap.${i}.from`} placeholder="from, e.g. /home/alice" aria-label={`Remap ${i + 1} from`} />
                <span class="muted">→</span>
                <input id={`f-remap.${i}.to`} name={`remap.${i}.to`} placeholder="to, e.g. /home/alice-new" aria-label={`Remap ${i + 1} to`} />
                <div class="error" data-field-error={`remap.${i}.from`} hidden role="alert"></div>
                <div class="error" data-field-error={`remap.${i}.to`} hidden role="alert"></div>
              </div>
            ))}
          </div>
        </div>
        <label class="radio"><input type="checkbox" name="verify" value="true" /> Verify the restored files against the snapshot afterwards (restic <span class="mono">--verify</span>, slower)</label>
      </div>
    </section>
  );
}

/**
 * A file name as restic's JSON gives it. A name that is not valid UTF-8 arrives with one U+FFFD
 * per undecodable byte: each is marked, the name says so, and it can still be picked (the agent
 * turns each mark into a one-byte wildcard, restore-run.ts literalPattern).
 */
function TreeName(props: { name: string }) {
  if (!props.name.includes('\uFFFD')) return <span class="tree-name">{props.name}</span>;
  const parts = props.name.split('\uFFFD');
  return (
    <span class="tree-name" title="This name is not valid UTF-8: each marked character stands for one byte that cannot be shown">
      {parts.map((p, i) => (i === 0 ? p : <><span class="bad-byte" aria-label="undecodable byte">{'\uFFFD'}</span>{p}</>))}
      <span class="faint"> (not UTF-8)</span>
    </span>
  );
}

/** One page of a directory's children, as tree items (a directory expands lazily). */
export function TreeItems(props: LsPartial) {
  if (props.entries.length === 0 && props.offset === 0) return <li class="muted">(empty directory)</li>;
  return (
    <>
      {props.entries.map((e) => (
        <li class={e.type === 'dir' ? 'tree-dir' : 'tree-file'}>
          <input type="checkbox" class="tree-pick" name="include" value={e.path} form="restore-form" aria-label={`Restore ${e.path}`} />
          {e.type === 'dir' ? (
            <details hx-get={lsUrl(props.hostId, props.snapshotId, e.path)} hx-trigger="toggle once" hx-target="find ul" hx-swap="innerHTML">
              <summary>
                <TreeName name={e.name} />/ <span class="faint">{modeText(e.mode)}</span>
                <span class="tree-dl">download as<a href={downloadUrl(props.hostId, props.snapshotId, e.path, 'tar')} aria-label={`Download ${e.path} as tar`}>.tar</a><a href={downloadUrl(props.hostId, props.snapshotId, e.path, 'zip')} aria-label={`Download ${e.path} as zip`}>.zip</a></span>
              </summary>
              <ul class="tree"><li class="muted">Loading…</li></ul>
            </details>
          ) : (
            <span class="tree-line">
              <TreeName name={e.name} />{e.type === 'symlink' ? ' →' : ''} <span class="faint">{e.type === 'file' ? fmtBytes(e.size) : e.type} {modeText(e.mode)}</span>
              {e.type === 'file' ? <span class="tree-dl"><a href={downloadUrl(props.hostId, props.snapshotId, e.path)} aria-label={`Download ${e.path}`}>download</a></span> : null}
            </span>
          )}
        </li>
      ))}
      {props.hasMore ? (
        <li>
          <button type="button" class="btn small" hx-get={lsUrl(props.hostId, props.snapshotId, props.path, props.offset + props.limit)} hx-target="closest li" hx-swap="outerHTML">
            Show more in {props.path}
          </button>
        </li>
      ) : null}
    </>
  );
}

/** A download the server refused (too large, gone, agent offline): a page that says why, and the way back. */
export function DownloadRefused(props: { viewer: Viewer; hostId: string; snapshotId: string; path: string; message: string }) {
  return (
    <Layout title="Download refused" viewer={props.viewer} active="dashboard">
      <PageHead title="Download refused" sub={<span class="mono">{props.path}</span>} />
      <div class="card">
        <div class="card-body stack">
          <div class="alert-box warn" role="alert" id="download-refused">{props.message}</div>
          <div><a class="btn" href={`/hosts/${props.hostId}/restore?snapshot=${props.snapshotId}`}>Back to the snapshot</a></div>
        </div>
      </div>
    </Layout>
  );
}

/** A directory that could not be listed (agent offline, path gone): shown in place. */
export const TreeError = (p: { message: string }) => <li class="error" role="alert">{p.message}</li>;
