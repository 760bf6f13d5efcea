/** One agent CLI command: `cli/<name>.ts` exports `command`. */
export interface AgentCommand {
  summary: string;
  help: string;
  run(argv: string[]): Promise<number>;
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export class UsageError extends Error {}

/**
 * Parses `--flag value`, `--flag=value` and boolean `--flag`. Unknown flags are a UsageError
 * so a typo never silently does nothing.
 */
export function parseFlags(argv: string[], spec: { values?: string[]; bools?: string[] }): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  const values = new Set(spec.values ?? []);
  const bools = new Set([...(spec.bools ?? []), 'help']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h') {
      out.help = true;
      continue;
    }
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq >= 0 ? eq : undefined);
    if (bools.has(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out[name] = true;
    } else if (values.has(name)) {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || (eq < 0 && v.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      out[name] = v;
    } else {
      throw new UsageError(`unknown flag --${name}`);
    }
  }
  return out;
}

export const STATE_DIR_HELP = '  --state-dir DIR   state directory (default $RM_AGENT_STATE_DIR or /var/lib/restic-manager)';
