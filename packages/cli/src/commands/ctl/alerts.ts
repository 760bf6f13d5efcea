import { parseArgs } from 'node:util';
import type { AlertView } from '@restic-manager/protocol';
import type { CtlCommand } from '../../ctl/command.js';
import { EXIT_HELP } from '../../ctl/command.js';
import { usageError } from '../../ctl/args.js';
import { json, safe, table, when } from '../../ctl/output.js';

export const subcommand: CtlCommand = {
  summary: 'List open alerts (--all: resolved ones too)',
  help: `Usage: restic-manager ctl alerts [--all] [--kind KIND] [--limit N] [--json]

Lists open alerts, newest first (default 50, at most 500); --all includes resolved ones.
--json prints the API's page {"items": [AlertView, …], "total", "limit", "offset"}. Not available
to a token scoped to tags.

${EXIT_HELP}`,
  async run(argv, ctx) {
    const { values } = usageError(() => parseArgs({ args: argv, options: { all: { type: 'boolean', default: false }, kind: { type: 'string' }, limit: { type: 'string', default: '50' } } }));
    const client = ctx.client();
    const page = await client.get<{ items: AlertView[]; total: number }>('/api/alerts', { open: values.all ? undefined : 'true', kind: values.kind, limit: values.limit });
    if (ctx.json) {
      ctx.out(json(page));
      return 0;
    }
    const names = new Map((await client.hosts()).map((h) => [h.id, h.name]));
    ctx.out(table(['SEVERITY', 'KIND', 'HOST', 'SINCE', 'STATE', 'MESSAGE'], page.items.map((a) => [
      a.severity, a.kind, a.host_id ? (names.get(a.host_id) ?? a.host_id) : '-', when(a.created_at),
      a.resolved_at ? 'resolved' : a.acknowledged_at ? 'acknowledged' : 'open', safe(a.message),
    ])));
    return 0;
  },
};
