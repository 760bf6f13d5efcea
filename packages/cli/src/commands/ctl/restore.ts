import { parseArgs } from 'node:util';
import type { JobView } from '@restic-manager/protocol';
import type { CtlCommand } from '../../ctl/command.js';
import { EXIT_HELP } from '../../ctl/command.js';
import { positionals, usageError } from '../../ctl/args.js';
import { CTL_EXIT, CtlError } from '../../ctl/exit.js';
import { printJobLog } from '../../ctl/follow.js';
import { json } from '../../ctl/output.js';

export const subcommand: CtlCommand = {
  summary: 'Restore a snapshot onto a host (into a directory, or in place); --wait follows it',
  help: `Usage: restic-manager ctl restore <host> <snapshot> (--target DIR | --in-place) [--include PATH]… [--exclude PATTERN]…
                                  [--from HOST] [--verify] [--wait] [--json]

Restores the snapshot (its id or short id, as 'ctl snapshots' lists it) onto the host (name or
id), like the web restore wizard:
  --target DIR        restore under this absolute directory on the host
  --in-place          restore to the original location (overwrites files there)
  --include PATH      only these absolute paths of the snapshot (repeatable; default: all)
  --exclude PATTERN   restic --exclude patterns (repeatable)
  --from HOST         the snapshot belongs to another host (cross-host restore)
  --verify            let restic verify the restored files
  --wait              follow the restore's log live and exit with its result (0, 10, 11)
Prints the job id (--json: {"job": JobView, "dispatched": bool}). Needs a token with the
operator role (and, scoped to tags, both hosts in scope).

${EXIT_HELP}`,
  async run(argv, ctx) {
    const { values, positionals: pos } = usageError(() => parseArgs({
      args: argv, allowPositionals: true,
      options: {
        target: { type: 'string' }, 'in-place': { type: 'boolean', default: false }, include: { type: 'string', multiple: true }, exclude: { type: 'string', multiple: true },
        from: { type: 'string' }, verify: { type: 'boolean', default: false }, wait: { type: 'boolean', default: false },
      },
    }));
    const [ref = '', snapshot = ''] = positionals(pos, ['host', 'snapshot']);
    if (!!values.target === values['in-place']) throw new CtlError('give exactly one of --target DIR or --in-place', CTL_EXIT.usage);
    const client = ctx.client();
    const host = await client.host(ref);
    const source = values.from ? await client.host(values.from) : undefined;
    const body = {
      snapshot_id: snapshot, restore_to: values['in-place'] ? 'original' : 'directory', ...(values.target ? { target: values.target } : {}),
      include: values.include ?? [], exclude: values.exclude ?? [], verify: values.verify, ...(source ? { source_host_id: source.id } : {}),
    };
    const started = await client.post<{ job: JobView; dispatched: boolean }>(`/api/hosts/${encodeURIComponent(host.id)}/restore`, body);
    if (!values.wait) {
      ctx.out(ctx.json ? json(started) : `${started.job.id}\n`);
      return CTL_EXIT.ok;
    }
    if (!ctx.json) ctx.err(`job ${started.job.id} (restore of ${snapshot} on ${host.name})\n`);
    return printJobLog(ctx, started.job.id, true);
  },
};
