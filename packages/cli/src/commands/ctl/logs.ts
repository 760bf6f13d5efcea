import { parseArgs } from 'node:util';
import type { CtlCommand } from '../../ctl/command.js';
import { EXIT_HELP } from '../../ctl/command.js';
import { positionals, usageError } from '../../ctl/args.js';
import { printJobLog } from '../../ctl/follow.js';

export const subcommand: CtlCommand = {
  summary: "Print a job's log; -f follows it live until the job ends",
  help: `Usage: restic-manager ctl logs [-f] <job-id> [--json]

Prints the job's stored log lines (restic's stdout on stdout, its stderr on stderr). With -f
(--follow) it then follows the job live over the job stream WebSocket until the job ends, and
exits with the job's result (0 succeeded, 10 failed, 11 cancelled). --json prints one object per
line: {"type":"log","seq","ts","stream","payload"} and, with -f, a final {"type":"job.finished","status",…}.

${EXIT_HELP}`,
  async run(argv, ctx) {
    const { values, positionals: pos } = usageError(() => parseArgs({ args: argv, options: { follow: { type: 'boolean', short: 'f', default: false } }, allowPositionals: true }));
    const [jobId = ''] = positionals(pos, ['job-id']);
    return printJobLog(ctx, jobId, values.follow);
  },
};
