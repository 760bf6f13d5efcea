import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { TOOL_CANDIDATES } from './commands.js';
import type { ToolName } from './commands.js';

/** First candidate of a tool found on PATH, or the first candidate's name (spawn then fails with ENOENT). */
export function resolveTool(tool: ToolName, envPath: string = process.env.PATH ?? ''): string {
  const dirs = envPath.split(path.delimiter).filter(Boolean);
  for (const name of TOOL_CANDIDATES[tool]) {
    for (const d of dirs) {
      const p = path.join(d, name);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // not here
      }
    }
  }
  return TOOL_CANDIDATES[tool][0];
}
