import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

/**
 * Temporary directories for the calling test file: `tmp(prefix)` makes one under the OS temp dir,
 * `removeLater(p)` adds any other path; all of them are removed after each test.
 */
export function tempDirs(defaultPrefix = 'rm-agent-test-'): { tmp: (prefix?: string) => string; removeLater: (p: string) => void } {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return {
    tmp(prefix = defaultPrefix) {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      made.push(d);
      return d;
    },
    removeLater(p) {
      made.push(p);
    },
  };
}
