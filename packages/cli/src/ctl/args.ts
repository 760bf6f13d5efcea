import { CTL_EXIT, CtlError } from './exit.js';

/** Runs node:util parseArgs (or any parser) and turns its errors into a usage error (exit 2). */
export function usageError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new CtlError(`${(e as Error).message} (see --help)`, CTL_EXIT.usage);
  }
}

/** Exactly `n` positional arguments, named for the message. */
export function positionals(got: string[], names: string[]): string[] {
  if (got.length !== names.length) throw new CtlError(`expected ${names.map((n) => `<${n}>`).join(' ')}, got ${got.length} argument${got.length === 1 ? '' : 's'} (see --help)`, CTL_EXIT.usage);
  return got;
}
