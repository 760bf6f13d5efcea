import { execFile } from 'node:child_process';
import fs from 'node:fs';

let cached: string | null = null;

/** The agent's own version, from its package.json. */
export function agentVersion(): string {
  if (cached) return cached;
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    cached = pkg.version ?? '0.0.0';
  } catch {
    cached = '0.0.0';
  }
  return cached;
}

/** `restic version` -> "0.14.0", or null when restic is not installed. Never throws. */
export function resticVersion(binary = 'restic'): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(binary, ['version'], { timeout: 10_000 }, (err, stdout) => {
      if (err) return resolve(null);
      const m = /restic\s+(\d+\.\d+\.\d+\S*)/.exec(stdout);
      resolve(m?.[1] ?? (stdout.trim().slice(0, 64) || null));
    });
  });
}
