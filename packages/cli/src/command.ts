/**
 * One CLI command = one file in `commands/<name>.ts` exporting `command: Command`.
 * `main.ts` finds commands by file name, so adding one never touches a shared registry.
 * Commands only parse flags, call a library, and print (text, or JSON with `--json`).
 */
export interface Command {
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text: usage, flags, and an exit-status table. */
  help: string;
  /** The command parses its own verbs and prints their `--help` itself (main.ts passes `--help` through). */
  ownHelp?: true;
  /** Returns the process exit code. `argv` excludes the command name. */
  run(argv: string[]): Promise<number>;
  /**
   * Verbs under this command (`restic-manager server backup`): `main.ts` hands the rest of argv,
   * and `--help`, to the subcommand named by the first argument.
   */
  subcommands?: Record<string, Command>;
}

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
