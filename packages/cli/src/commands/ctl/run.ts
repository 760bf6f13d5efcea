import { parseArgs } from 'node:util';
import { JobKind } from '@restic-manager/protocol';
import type { JobView } from '@restic-manager/protocol';
import type { CtlCommand } from '../../ctl/command.js';
import { EXIT_HELP } from '../../ctl/command.js';
import { positionals, usageError } from '../../ctl/args.js';
import { CTL_EXIT, CtlError } from '../../ctl/exit.js';
import { printJobLog } from '../../ctl/follow.js';
import { json } from '../../ctl/output.js';

const KINDS = JobKind.options.join('|');

export const subcommand: CtlCommand = {
  summary: 'Run a job on a host now (backup, check, forget, prune, …); --wait follows it',
  help: `Usage: restic-manager ctl run <host> <kind> [--path P]… [--exclude X]… [--tag T]… [--args JSON] [--wait] [--json]

Queues a job on the host (name or id) and sends it to its agent, like Run now in the web UI.
kind: ${KINDS}
  --path, --exclude, --tag   backup arguments (repeatable); backup needs at least one --path
  --args JSON                the job's arguments as a JSON object (merged under the flags),
                             e.g. forget: --args '{"policy":{"keep_daily":7}}'
  --wait                     follow the job's log live until it ends, and exit with its result
                             (0 succeeded, 10 failed, 11 cancelled)
Prints the job id (--json: {"job": JobView, "dispatched": bool}; with --wait, the log as in
'ctl logs -f --json'). Needs a token with the operator role.

${EXIT_HELP}`,
  async run(argv, ctx) {
    const { values, positionals: pos } = usageError(() => parseArgs({
      args: argv, allowPositionals: true,
      options: { path: { type: 'string', multiple: true }, exclude: { type: 'string', multiple: true }, tag: { type: 'string', multiple: true }, args: { type: 'string' }, wait: { type: 'boolean', default: false } },
    }));
    const [ref = '', kind = ''] = positionals(pos, ['host', 'kind']);
    if (!JobKind.safeParse(kind).success) throw new CtlError(`unknown job kind '${kind}' (one of ${KINDS})`, CTL_EXIT.usage);
    let args: Record<string, unknown> = {};
    if (values.args) {
      try {
        args = JSON.parse(values.args) as Record<string, unknown>;
      } catch {
        throw new CtlError('--args: not valid JSON', CTL_EXIT.usage);
      }
      if (!args || typeof args !== 'object' || Array.isArray(args)) throw new CtlError('--args: must be a JSON object', CTL_EXIT.usage);
    }
    if (values.path) args.paths = values.path;
    if (values.exclude) args.excludes = values.exclude;
    if (values.tag) args.tags = values.tag;
    const client = ctx.client();
    const host = await client.host(ref);
    const started = await client.post<{ job: JobView; dispatched: boolean }>(`/api/hosts/${encodeURIComponent(host.id)}/jobs`, { kind, args });
    if (!values.wait) {
      ctx.out(ctx.json ? json(started) : `${started.job.id}\n`);
      if (!ctx.json && !started.dispatched) ctx.err(`job ${started.job.id} is queued: ${host.name}'s agent is offline; it runs when the agent connects\n`);
      return CTL_EXIT.ok;
    }
    if (!ctx.json) ctx.err(`job ${started.job.id} (${kind} on ${host.name})\n`);
    return printJobLog(ctx, started.job.id, true);
  },
};
