import { parseArgs } from 'node:util';
import type { SnapshotView } from '@restic-manager/protocol';
import type { CtlCommand } from '../../ctl/command.js';
import { EXIT_HELP } from '../../ctl/command.js';
import { positionals, usageError } from '../../ctl/args.js';
import { json, safe, table, when } from '../../ctl/output.js';

export const subcommand: CtlCommand = {
  summary: "List a host's snapshots (as last reported by its agent)",
  help: `Usage: restic-manager ctl snapshots <host> [--tag TAG] [--limit N] [--json]

Lists the snapshots the server holds for the host (name or id), newest first (default 50, at
most 500). --json prints the API's page {"items": [SnapshotView, …], "total", "limit", "offset"}.

${EXIT_HELP}`,
  async run(argv, ctx) {
    const { values, positionals: pos } = usageError(() => parseArgs({ args: argv, options: { tag: { type: 'string' }, limit: { type: 'string', default: '50' } }, allowPositionals: true }));
    const [ref = ''] = positionals(pos, ['host']);
    const client = ctx.client();
    const host = await client.host(ref);
    const page = await client.get<{ items: SnapshotView[]; total: number }>(`/api/hosts/${encodeURIComponent(host.id)}/snapshots`, { tag: values.tag, limit: values.limit });
    if (ctx.json) {
      ctx.out(json(page));
      return 0;
    }
    ctx.out(table(['ID', 'TIME', 'HOSTNAME', 'TAGS', 'PATHS'], page.items.map((s) => [
      s.short_id, when(s.time), safe(s.hostname), s.tags.join(',') || '-', safe(s.paths.join(' ')),
    ])));
    return 0;
  },
};
