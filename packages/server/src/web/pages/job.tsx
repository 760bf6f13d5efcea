import type { HostView, JobView } from '@restic-manager/protocol';
import { isTerminal } from '@restic-manager/protocol';
import { durationBetween, exactTime, fmtBytes, fmtCount, fmtDuration, shortId } from '../components/format.js';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead, canOperate } from '../components/layout.js';
import { JobStatusBadge, ProgressBar, RelTime, withQuery, withWarnings } from '../components/ui.js';

export interface LogLine {
  seq: number;
  ts: string;
  stream: 'stdout' | 'stderr' | 'event';
  payload: string;
}

export interface JobPageData {
  job: JobView;
  host: HostView | null;
  /** A page of the stored log: the tail while running, `afterSeq`-paged once finished. */
  log: { lines: LogLine[]; afterSeq: number; hasMore: boolean; pageSize: number };
  /** A queued job waiting for a concurrency slot: the slot releases ahead of it (issue 21). */
  slotAhead?: number | null;
}

export function JobPage(props: { viewer: Viewer; data: JobPageData }) {
  const { job, host } = props.data;
  const title = `${job.kind} ${shortId(job.id)}`;
  return (
    <Layout title={title} viewer={props.viewer} active="jobs">
      <PageHead
        crumbs={[{ label: 'Dashboard', href: '/' }, ...(host ? [{ label: host.name, href: `/hosts/${host.id}/jobs` }] : []), { label: 'Jobs', href: '/jobs' }]}
        title={<span style="text-transform:capitalize">{job.kind} job</span>}
        sub={<span class="mono">{job.id}</span>}
      />
      <div class="stack">
        <JobSummary viewer={props.viewer} job={job} host={host} slotAhead={props.data.slotAhead ?? null} />
        <JobLog job={job} log={props.data.log} />
      </div>
    </Layout>
  );
}

/** Status, timings, progress, stats, error and Cancel. Re-fetched (`/partials/jobs/:id/summary`) when the job ends. */
export function JobSummary(props: { viewer: Viewer; job: JobView; host: HostView | null; slotAhead?: number | null }) {
  const j = props.job;
  const p = (j.progress ?? {}) as Partial<Record<'percent_done' | 'files_done' | 'total_files' | 'bytes_done' | 'total_bytes' | 'eta_seconds' | 'throughput_bps', number | null>>;
  const terminal = isTerminal(j.status);
  const fraction = j.status === 'succeeded' ? 1 : (p.percent_done ?? 0);
  const showProgress = j.kind === 'backup' || j.kind === 'restore' || j.progress != null;
  return (
    <section id="job-summary" class="card" data-src={`/partials/jobs/${j.id}/summary`} data-status={j.status} aria-labelledby="job-summary-h">
      <div class="card-head">
        <h2 id="job-summary-h" style="display:flex;gap:12px;align-items:center">
          Status <JobStatusBadge status={j.status} errorKind={j.error_kind} />
          {props.slotAhead != null && j.status === 'queued' ? <a href="/queue" class="muted" style="font-size:.88rem;font-weight:normal" data-slot-ahead={props.slotAhead}>waiting for a slot: {props.slotAhead} ahead</a> : null}
        </h2>
        {canOperate(props.viewer) && !terminal ? (
          <button class="btn danger" hx-post={`/jobs/${j.id}/cancel`} hx-confirm="Cancel this job?" hx-target="#job-summary" hx-swap="outerHTML" id="cancel-job">
            Cancel job
          </button>
        ) : null}
      </div>
      <div class="card-body" style="display:grid;gap:20px">
        {j.error && withWarnings(j.status, j.error_kind) ? (
          <div class="alert-box warn" role="status">
            <strong>warnings:</strong> {j.error}
          </div>
        ) : j.error ? (
          <div class="alert-box danger" role="alert">
            <strong>{j.error_kind ?? 'error'}:</strong> {j.error}
          </div>
        ) : null}
        {showProgress ? (
          <div data-progress-wrap hidden={!j.progress && !terminal}>
            <ProgressBar fraction={fraction} tone={j.status === 'succeeded' ? 'ok' : j.status === 'failed' ? 'danger' : undefined} label="Job progress" />
            <div class="progress-meta" hidden={terminal}>
              <span><strong data-progress="percent">{(fraction * 100).toFixed(1)}%</strong></span>
              <span>Files <strong data-progress="files">{fmtCount(p.files_done)}{p.total_files != null ? ` / ${fmtCount(p.total_files)}` : ''}</strong></span>
              <span>Data <strong data-progress="bytes">{fmtBytes(p.bytes_done)}{p.total_bytes != null ? ` / ${fmtBytes(p.total_bytes)}` : ''}</strong></span>
              <span>ETA <strong data-progress="eta">{terminal ? '—' : fmtDuration(p.eta_seconds)}</strong></span>
              <span>Throughput <strong data-progress="throughput">{p.throughput_bps != null ? `${fmtBytes(p.throughput_bps)}/s` : '—'}</strong></span>
            </div>
          </div>
        ) : null}
        <div class="grid-2">
          <dl class="kv">
            <dt>Host</dt>
            <dd>{props.host ? <a href={`/hosts/${props.host.id}`}>{props.host.name}</a> : <span class="mono">{j.host_id}</span>}</dd>
            <dt>Queued</dt>
            <dd><RelTime iso={j.created_at} /></dd>
            <dt>Started</dt>
            <dd>{j.started_at ? <span title={exactTime(j.started_at)}><RelTime iso={j.started_at} /></span> : <span class="faint">not yet</span>}</dd>
            <dt>Finished</dt>
            <dd>{j.finished_at ? <RelTime iso={j.finished_at} /> : <span class="faint">—</span>}</dd>
            <dt>Duration</dt>
            <dd>{j.started_at ? durationBetween(j.started_at, j.finished_at) : '—'}</dd>
            <dt>Triggered by</dt>
            <dd>{j.actor_kind}{j.schedule_id ? ' (schedule)' : ''}</dd>
            <dt>Exit code</dt>
            <dd>{j.exit_code ?? '—'}</dd>
          </dl>
          <JobStats stats={j.stats} />
        </div>
      </div>
    </section>
  );
}

const bytes = (v: number) => fmtBytes(v);
const STAT_LABELS: Record<string, [string, (v: number) => string]> = {
  files_new: ['New files', fmtCount],
  files_changed: ['Changed files', fmtCount],
  files_unmodified: ['Unmodified files', fmtCount],
  dirs_new: ['New dirs', fmtCount],
  dirs_changed: ['Changed dirs', fmtCount],
  dirs_unmodified: ['Unmodified dirs', fmtCount],
  data_blobs: ['Data blobs', fmtCount],
  tree_blobs: ['Tree blobs', fmtCount],
  total_files_processed: ['Files processed', fmtCount],
  total_bytes_processed: ['Data processed', bytes],
  data_added: ['Data added', bytes],
  total_size: ['Total size', bytes],
  total_duration: ['restic duration', fmtDuration],
  duration_seconds: ['restic duration', fmtDuration],
};

/** `filesNew` / `files_new` -> `files_new`. */
const snake = (k: string): string => k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

function JobStats(props: { stats: Record<string, unknown> | null }) {
  const s = props.stats;
  if (!s || Object.keys(s).length === 0) return <div class="muted">Statistics appear when the job finishes.</div>;
  const entries = Object.entries(s).filter(([, v]) => typeof v === 'number' || typeof v === 'string').slice(0, 16);
  const dbs = Array.isArray(s.databases) ? (s.databases as { engine?: string; database?: string; snapshot_id?: string; bytes?: number; error?: string }[]) : [];
  return (
    <>
    {dbs.length ? (
      <ul id="job-databases" style="margin:0 0 8px 18px;padding:0">
        {dbs.slice(0, 64).map((d) => (
          <li class="mono">{d.engine ?? ''} {d.database ?? ''}: {d.snapshot_id ? `snapshot ${d.snapshot_id.slice(0, 8)} (${fmtCount(d.bytes ?? 0)} bytes)` : `no snapshot — ${d.error ?? 'failed'}`}</li>
        ))}
      </ul>
    ) : null}
    <dl class="kv" id="job-stats">
      {entries.map(([k, v]) => {
        const key = snake(k);
        const known = STAT_LABELS[key];
        const label = known ? known[0] : key.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
        return (
          <>
            <dt>{label}</dt>
            <dd class={typeof v === 'string' ? 'mono' : ''}>{known && typeof v === 'number' ? known[1](v) : typeof v === 'number' ? fmtCount(v) : String(v)}</dd>
          </>
        );
      })}
    </dl>
    </>
  );
}

/** The log card: live (WebSocket) while the job runs, a paged stored log afterwards. */
function JobLog(props: { job: JobView; log: JobPageData['log'] }) {
  const j = props.job;
  const terminal = isTerminal(j.status);
  const lines = props.log.lines;
  const last = lines.length ? (lines[lines.length - 1]?.seq ?? -1) : props.log.afterSeq;
  return (
    <section class="card" data-live-log data-job-id={j.id} data-last-seq={String(last)} data-terminal={terminal ? 'true' : 'false'} aria-labelledby="log-h">
      <div class="card-head">
        <h2 id="log-h" style="display:flex;gap:12px;align-items:center">
          Log <span class="live-dot" data-state={terminal ? 'closed' : 'connecting'}>{terminal ? 'Finished' : 'Connecting…'}</span>
        </h2>
        <div class="log-toolbar">
          {terminal ? (
            <>
              {props.log.afterSeq >= 0 ? <a class="btn small" href={`/jobs/${j.id}`}>First lines</a> : null}
              {props.log.hasMore ? <a class="btn small" href={withQuery(`/jobs/${j.id}`, { after_seq: last })}>Next {props.log.pageSize} lines →</a> : null}
              <a class="btn small" href={`/api/jobs/${j.id}/logs?limit=5000`} target="_blank" rel="noopener">Raw (JSON)</a>
            </>
          ) : (
            <>
              <button class="btn small" type="button" data-log-pause aria-pressed="false">Pause</button>
              <button class="btn small" type="button" data-log-end>Jump to end</button>
            </>
          )}
        </div>
      </div>
      <div class="log" tabindex={0} aria-label="Job log" aria-live="off">
        {lines.length === 0 ? <span class="log-empty faint">{terminal ? 'This job wrote no log lines.' : 'Waiting for output…'}</span> : null}
        {lines.map((l) => (
          <span class={`line ${l.stream}`} data-seq={String(l.seq)}>
            <span class="seq">{l.seq}</span>
            <span class="msg">{l.payload}</span>
          </span>
        ))}
      </div>
    </section>
  );
}
