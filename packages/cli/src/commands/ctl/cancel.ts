import type { JobView } from '@restic-manager/protocol';
import type { CtlCommand } from '../../ctl/command.js';
import { EXIT_HELP } from '../../ctl/command.js';
import { positionals } from '../../ctl/args.js';
import { json } from '../../ctl/output.js';

export const subcommand: CtlCommand = {
  summary: 'Cancel a queued or running job',
  help: `Usage: restic-manager ctl cancel <job-id> [--json]

Cancels the job: a job not yet sent to its agent is cancelled at once; a running one is sent
command.cancel (the agent stops restic; 'ctl logs -f' then ends with exit 11). Prints the job's
status (--json: {"job": JobView, "sent": bool}). Needs a token with the operator role.

${EXIT_HELP}`,
  async run(argv, ctx) {
    const [jobId = ''] = positionals(argv, ['job-id']);
    const r = await ctx.client().post<{ job: JobView; sent: boolean }>(`/api/jobs/${encodeURIComponent(jobId)}/cancel`, undefined);
    ctx.out(ctx.json ? json(r) : `${r.job.id} ${r.job.status}${r.sent ? ' (cancel sent to the agent)' : ''}\n`);
    return 0;
  },
};
