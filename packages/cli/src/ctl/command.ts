import type { CtlClient } from './client.js';

/** What every `ctl` subcommand receives besides its own arguments. */
export interface CtlContext {
  /** `--json`: one JSON document on stdout instead of text. */
  json: boolean;
  /** The API client (config resolved on first use, so `--help` needs no token). */
  client(): CtlClient;
  out(text: string): void;
  err(text: string): void;
}

/**
 * One `restic-manager ctl <name>` subcommand = one file in `commands/ctl/<name>.ts` exporting
 * `subcommand`. It parses its own arguments, calls the API through the client and prints; it
 * throws CtlError (exit.ts) for anything that stops it.
 */
export interface CtlCommand {
  summary: string;
  /** Full `--help`: usage, arguments, flags, exit status. */
  help: string;
  run(argv: string[], ctx: CtlContext): Promise<number>;
}

/** The exit-status lines every subcommand's help ends with (docs/cli.md). */
export const EXIT_HELP = `Exit status:
  0  success
  1  other failure (network, server error)
  2  wrong arguments, no server URL, a malformed config file
  3  no token, a config file readable by others, or the token was refused (unknown, expired, revoked)
  4  forbidden: below the token's role, outside its host-tag scope
  5  no such host or job (or not visible to this token)
  6  the host's agent is offline or did not answer
  10 a followed job ended failed; 11 it ended cancelled (run --wait, logs -f)`;
