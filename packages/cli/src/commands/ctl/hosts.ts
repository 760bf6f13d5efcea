import { parseArgs } from 'node:util';
import type { CtlCommand } from '../../ctl/command.js';
import { EXIT_HELP } from '../../ctl/command.js';
import { json, table, when } from '../../ctl/output.js';
import { usageError } from '../../ctl/args.js';

export const subcommand: CtlCommand = {
  summary: 'List the hosts the token may see',
  help: `Usage: restic-manager ctl hosts [--tag TAG] [--status online|offline|degraded|pending] [--json]

Lists hosts with their status, last backup and open alerts. A token scoped to tags sees only
the hosts carrying one of them. --json prints {"items": [HostView, …]} (docs/cli.md).

${EXIT_HELP}`,
  async run(argv, ctx) {
    const { values } = usageError(() => parseArgs({ args: argv, options: { tag: { type: 'string' }, status: { type: 'string' } }, allowPositionals: false }));
    const hosts = await ctx.client().hosts({ tag: values.tag, status: values.status });
    if (ctx.json) {
      ctx.out(json({ items: hosts }));
      return 0;
    }
    ctx.out(table(['NAME', 'STATUS', 'LAST BACKUP', 'RESULT', 'ALERTS', 'TAGS'], hosts.map((h) => [
      h.name, h.status, when(h.last_backup_at), h.last_backup_status ?? '-', String(h.open_alert_count), h.tags.join(',') || '-',
    ])));
    return 0;
  },
};
