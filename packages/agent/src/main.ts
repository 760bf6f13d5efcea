#!/usr/bin/env node
/**
 * `restic-manager-agent <command>`: loads `cli/<command>.js` on demand, so each command only
 * pays for what it imports (the idle `run` loop never loads the CLI of other commands).
 */
import type { AgentCommand } from './cli/args.js';
import { EXIT, UsageError } from './cli/args.js';

const COMMANDS = ['enroll', 'run', 'version', 'health-check', 'dump-state', 'discover-databases', 'update'] as const;

function usage(): string {
  return `Usage: restic-manager-agent <command> [flags]

Commands:
  enroll         enroll this host with a server (one-time token)
  run            run the agent service loop
  version        print versions and whether the vault engine works (--json)
  health-check   exit 0 when connected or within the reconnect budget
  dump-state     print the agent state as JSON (secrets redacted)
  discover-databases  list PostgreSQL/MariaDB servers and database containers (--json)
  update         upgrade the agent package with apt-get (--dry-run, --json)

Run 'restic-manager-agent <command> --help' for the flags of one command.
`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version') argv = ['version'];
  if (!(COMMANDS as readonly string[]).includes(argv[0]!)) {
    process.stderr.write(`unknown command '${name}'\n\n${usage()}`);
    return EXIT.usage;
  }
  const mod = (await import(`./cli/${argv[0]!}.js`)) as { command: AgentCommand };
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(mod.command.help + '\n');
    return EXIT.ok;
  }
  try {
    return await mod.command.run(argv[0] === name ? rest : []);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${mod.command.help}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`restic-manager-agent: ${(err as Error).message}\n`);
    return EXIT.failed;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = EXIT.failed;
  },
);
