import type { JobView } from '@restic-manager/protocol';
import { JobKind, JobStatus } from '@restic-manager/protocol';
import { durationBetween, shortId } from './format.js';
import { Empty, FilterSelect, JobStatusBadge, Pager, RelTime, withQuery } from './ui.js';

export interface JobListData {
  items: JobView[];
  total: number;
  limit: number;
  offset: number;
  filter: { status?: string | undefined; kind?: string | undefined };
}

/** Status/kind filter for a jobs list; swaps `#jobs` in place and keeps the URL shareable. */
export function JobFilters(props: { action: string; filter: JobListData['filter'] }) {
  return (
    <form class="form inline" method="get" action={props.action} hx-get={props.action} hx-target="#jobs" hx-select="#jobs" hx-swap="outerHTML" hx-push-url="true" hx-trigger="change">
      <FilterSelect id="f-job-status" name="status" label="Status" all="All statuses" options={JobStatus.options} selected={props.filter.status} />
      <FilterSelect id="f-job-kind" name="kind" label="Kind" all="All kinds" options={JobKind.options} selected={props.filter.kind} />
      <noscript><button class="btn small" type="submit">Filter</button></noscript>
    </form>
  );
}

/**
 * A jobs table with pagination. `hostNames` adds a Host column (the fleet-wide list); `poll`
 * (the page's own URL) re-fetches the table every 10 s.
 */
export function JobsTable(props: { jobs: JobListData; basePath: string; hostNames?: Map<string, string>; poll?: string }) {
  const j = props.jobs;
  const q = { status: j.filter.status, kind: j.filter.kind };
  const names = props.hostNames;
  return (
    <div id="jobs" {...(props.poll ? { 'hx-get': props.poll, 'hx-select': '#jobs', 'hx-trigger': 'every 10s', 'hx-swap': 'outerHTML' } : {})}>
      {j.items.length === 0 ? (
        <Empty title={j.filter.status || j.filter.kind ? 'No jobs match this filter' : 'No jobs yet'}>
          {j.filter.status || j.filter.kind ? <a href={props.basePath}>Clear the filter</a> : <div>Jobs appear here when a schedule fires or someone presses “Run now”.</div>}
        </Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Job</th>
                {names ? <th>Host</th> : null}
                <th>Kind</th>
                <th>Status</th>
                <th>Started</th>
                <th class="num hide-sm">Duration</th>
                <th class="hide-sm">By</th>
              </tr>
            </thead>
            <tbody>
              {j.items.map((job) => (
                <tr class="row-link">
                  <td><a class="stretched mono" href={`/jobs/${job.id}`}>{shortId(job.id)}</a></td>
                  {names ? <td><a class="row-action" href={`/hosts/${job.host_id}`}>{names.get(job.host_id) ?? shortId(job.host_id)}</a></td> : null}
                  <td>{job.kind}</td>
                  <td>
                    <JobStatusBadge status={job.status} errorKind={job.error_kind} />
                    {job.error ? <div class="host-sub" title={job.error}>{job.error.length > 80 ? `${job.error.slice(0, 80)}…` : job.error}</div> : null}
                  </td>
                  <td class="nowrap"><RelTime iso={job.started_at ?? job.created_at} /></td>
                  <td class="num hide-sm">{job.started_at ? durationBetween(job.started_at, job.finished_at) : '—'}</td>
                  <td class="hide-sm muted">{job.actor_kind}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager total={j.total} limit={j.limit} offset={j.offset} href={(o) => withQuery(props.basePath, { ...q, offset: o || undefined })} />
    </div>
  );
}
