import { readFileSync } from 'node:fs';
import { PROTOCOL_VERSION } from '@restic-manager/protocol';
import type { Command } from '../command.js';

/** The version in packages/cli/package.json (src/commands/ and dist/commands/ both sit two levels below it). */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export const command: Command = {
  summary: 'Print the version (--json for scripts)',
  help: `Usage: restic-manager version [--json]

Prints the restic-manager version and wire protocol version.

Exit status: 0 always.`,
  run(argv) {
    const info = { version: VERSION, protocol_version: PROTOCOL_VERSION, node: process.version };
    process.stdout.write(argv.includes('--json') ? `${JSON.stringify(info)}\n` : `restic-manager ${VERSION} (protocol ${PROTOCOL_VERSION}, node ${process.version})\n`);
    return Promise.resolve(0);
  },
};
