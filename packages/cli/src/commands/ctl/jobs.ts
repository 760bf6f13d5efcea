import { parseArgs } from 'node:util';
import type { JobView } from '@restic-manager/protocol';
import type { CtlCommand } from '../../ctl/command.js';
import { EXIT_HELP } from '../../ctl/command.js';
import { usageError } from '../../ctl/args.js';
import { json, table, when } from '../../ctl/output.js';

export const subcommand: CtlCommand = {
  summary: 'List recent jobs (newest first)',
  help: `Usage: restic-manager ctl jobs [--host NAME] [--kind KIND] [--status STATUS] [--limit N] [--json]

Lists jobs, newest first (default 20, at most 500). --host takes a host name or id.
STATUS: queued, running, succeeded, failed, cancelled. --json prints the API's page
{"items": [JobView, …], "total", "limit", "offset"}. Not available to a token scoped to tags
(use 'ctl logs' with a job id instead).

${EXIT_HELP}`,
  async run(argv, ctx) {
    const { values } = usageError(() => parseArgs({ args: argv, options: { host: { type: 'string' }, kind: { type: 'string' }, status: { type: 'string' }, limit: { type: 'string', default: '20' } } }));
    const client = ctx.client();
    const host = values.host ? await client.host(values.host) : undefined;
    const names = new Map((await client.hosts()).map((h) => [h.id, h.name]));
    const page = await client.get<{ items: JobView[]; total: number }>('/api/jobs', { host_id: host?.id, kind: values.kind, status: values.status, limit: values.limit });
    if (ctx.json) {
      ctx.out(json(page));
      return 0;
    }
    ctx.out(table(['ID', 'HOST', 'KIND', 'STATUS', 'CREATED', 'FINISHED'], page.items.map((j) => [
      j.id, names.get(j.host_id) ?? j.host_id, j.kind, j.status, when(j.created_at), when(j.finished_at),
    ])));
    return 0;
  },
};
