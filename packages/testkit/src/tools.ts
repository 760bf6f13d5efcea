import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export type ToolCheck = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Whether an executable is on PATH. Tests use the reason to skip visibly:
 * `const t = requireTool('rustic'); it.skipIf(!t.ok)(...)` and print `t.reason`.
 */
export function requireTool(name: string): ToolCheck {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return { ok: true, path: candidate };
    } catch {
      // not here
    }
  }
  return { ok: false, reason: `'${name}' is not on PATH` };
}
