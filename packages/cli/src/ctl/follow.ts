import type { JobLogView, JobView } from '@restic-manager/protocol';
import type { StreamFrame } from './client.js';
import type { CtlContext } from './command.js';
import { CTL_EXIT } from './exit.js';
import { json, safe } from './output.js';

const PAGE = 5000;

/** The exit code of a job that ended with `status`. */
export const exitOfJob = (status: string): number => (status === 'succeeded' ? CTL_EXIT.ok : status === 'cancelled' ? CTL_EXIT.jobCancelled : CTL_EXIT.jobFailed);

/**
 * Prints a job's log from its first line and, with `live`, every line after that as the agent
 * sends it, until the job ends; returns the job's exit code (exitOfJob). No line is lost or
 * printed twice between the stored log and the live stream: the stream is opened first and its
 * frames held back while the stored lines are read, then the held frames are printed from the
 * first sequence number past the stored ones. Text: stdout lines to stdout, stderr lines to
 * stderr (control characters escaped). `--json`: one object per line (`{"type":"log",…}`, then
 * `{"type":"job.finished",…}`).
 */
export async function printJobLog(ctx: CtlContext, jobId: string, live: boolean): Promise<number> {
  const client = ctx.client();
  let maxSeq = -1;
  let finished: StreamFrame | null = null;
  let holding = true;
  const held: StreamFrame[] = [];
  const emitLine = (l: Pick<JobLogView, 'seq' | 'ts' | 'stream' | 'payload'>) => {
    if (l.seq <= maxSeq) return;
    maxSeq = l.seq;
    if (ctx.json) ctx.out(json({ type: 'log', job_id: jobId, seq: l.seq, ts: l.ts, stream: l.stream, payload: l.payload }));
    else if (l.stream === 'stderr') ctx.err(`${safe(l.payload)}\n`);
    else ctx.out(`${safe(l.payload)}\n`);
  };
  const onFrame = (f: StreamFrame) => {
    if (holding) return void held.push(f);
    if (f.type === 'log.stream') emitLine(f as unknown as JobLogView);
    else if (f.type === 'job.finished') finished = f;
  };
  const stream = live ? await client.stream(jobId, onFrame) : null;
  for (;;) {
    const page = await client.get<{ items: JobLogView[] }>(`/api/jobs/${encodeURIComponent(jobId)}/logs`, { after_seq: maxSeq, limit: PAGE });
    for (const l of page.items) emitLine(l);
    if (page.items.length < PAGE) break;
  }
  holding = false;
  for (const f of held.splice(0)) onFrame(f);
  if (stream) await stream.closed;
  const job = await client.get<JobView>(`/api/jobs/${encodeURIComponent(jobId)}`);
  const status = (finished as StreamFrame | null)?.status ?? job.status;
  if (ctx.json && live) ctx.out(json({ type: 'job.finished', job_id: jobId, status, exit_code: job.exit_code, error: job.error, error_kind: job.error_kind }));
  if (!live) return CTL_EXIT.ok;
  if (!ctx.json && status !== 'succeeded') ctx.err(`job ${jobId} ${String(status)}${job.error ? `: ${safe(job.error)}` : ''}\n`);
  return typeof status === 'string' && (status === 'queued' || status === 'running') ? CTL_EXIT.failed : exitOfJob(String(status));
}
