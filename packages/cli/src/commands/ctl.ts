import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.js';
import { CtlClient } from '../ctl/client.js';
import type { CtlCommand } from '../ctl/command.js';
import { EXIT_HELP } from '../ctl/command.js';
import { loadCtlConfig } from '../ctl/config.js';
import { CTL_EXIT, CtlError } from '../ctl/exit.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ctl');
const names = (): string[] => readdirSync(dir).filter((f) => /^[a-z][a-z0-9-]*\.js$/.test(f)).map((f) => f.slice(0, -3)).sort();

async function load(name: string): Promise<CtlCommand | undefined> {
  if (!/^[a-z][a-z0-9-]*$/.test(name) || !names().includes(name)) return undefined;
  return ((await import(`./ctl/${name}.js`)) as { subcommand?: CtlCommand }).subcommand;
}

async function usage(): Promise<string> {
  const lines = [
    'Usage: restic-manager ctl [--server URL] [--config FILE] [--json] <command> [args]',
    '',
    'The REST API from a shell, with an API token (Settings → API tokens):',
    '  RM_TOKEN       the token (rmt_…); else "token" in the config file',
    '  RM_SERVER      the server URL; else --server, else "server" in the config file',
    '  RM_CTL_CONFIG  the config file            [$XDG_CONFIG_HOME/restic-manager/ctl.json]',
    'The config file is JSON {"server": "https://…", "token": "rmt_…"} and must be mode 0600.',
    '',
    'Commands:',
  ];
  for (const n of names()) lines.push(`  ${n.padEnd(11)} ${(await load(n))?.summary ?? ''}`);
  lines.push('', "Run 'restic-manager ctl <command> --help' for its arguments.", '', EXIT_HELP);
  return lines.join('\n');
}

interface Globals {
  server?: string;
  config?: string;
  json: boolean;
  rest: string[];
}

/** Pulls the global flags (anywhere on the line) out of argv. */
function globals(argv: string[]): Globals {
  const out: Globals = { json: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const m = /^--(server|config)(?:=(.*))?$/.exec(a);
    if (m) {
      const v = m[2] ?? argv[++i];
      if (v === undefined || v === '') throw new CtlError(`--${m[1] ?? ''} needs a value`, CTL_EXIT.usage);
      if (m[1] === 'server') out.server = v;
      else out.config = v;
    } else if (a === '--json') out.json = true;
    else out.rest.push(a);
  }
  return out;
}

export const command: Command = {
  summary: 'Drive a server from the shell with an API token: hosts, jobs, run, logs -f, snapshots, alerts',
  help: 'Usage: restic-manager ctl [--server URL] [--config FILE] [--json] <command> [args]\n(see restic-manager ctl --help)',
  ownHelp: true,
  async run(argv) {
    try {
      const g = globals(argv);
      const [name, ...rest] = g.rest;
      if (!name || name === '--help' || name === '-h' || name === 'help') {
        process.stdout.write(`${await usage()}\n`);
        return name ? CTL_EXIT.ok : CTL_EXIT.usage;
      }
      const sub = await load(name);
      if (!sub) throw new CtlError(`unknown command '${name}' (see restic-manager ctl --help)`, CTL_EXIT.usage);
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${sub.help.trimEnd()}\n`);
        return CTL_EXIT.ok;
      }
      let client: CtlClient | undefined;
      return await sub.run(rest, {
        json: g.json,
        client: () => (client ??= new CtlClient(loadCtlConfig({ server: g.server, config: g.config }, process.env))),
        out: (t) => process.stdout.write(t),
        err: (t) => process.stderr.write(t),
      });
    } catch (e) {
      if (!(e instanceof CtlError)) throw e;
      process.stderr.write(`restic-manager ctl: ${e.message}\n`);
      return e.exitCode;
    }
  },
};
