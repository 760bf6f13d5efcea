#!/usr/bin/env node
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Command } from './command.js';
import { EXIT } from './command.js';

const commandsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands');

function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function load(name: string): Promise<Command | undefined> {
  if (!/^[a-z][a-z0-9-]*$/.test(name) || !commandNames().includes(name)) return undefined;
  const mod = (await import(`./commands/${name}.js`)) as { command?: Command };
  return mod.command;
}

async function usage(): Promise<string> {
  const lines = ['Usage: restic-manager <command> [flags]', '', 'Commands:'];
  for (const name of commandNames()) {
    const c = await load(name);
    if (c) lines.push(`  ${name.padEnd(12)} ${c.summary}`);
  }
  lines.push('', "Run 'restic-manager <command> --help' for a command's flags.");
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await usage()}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  const top = await load(name);
  if (!top) {
    process.stderr.write(`restic-manager: unknown command '${name}'\n\n${await usage()}\n`);
    return EXIT.usage;
  }
  let cmd: Command = top;
  let args = rest;
  for (;;) {
    const subs: Record<string, Command> | undefined = cmd.subcommands;
    const word = args[0];
    if (!subs || word === undefined || !Object.hasOwn(subs, word)) break;
    cmd = subs[word] ?? cmd;
    args = args.slice(1);
  }
  if (!cmd.ownHelp && (args.includes('--help') || args.includes('-h'))) {
    process.stdout.write(`${cmd.help.trimEnd()}\n`);
    return EXIT.ok;
  }
  return cmd.run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`restic-manager: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.failed;
  },
);
