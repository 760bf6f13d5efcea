import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Writes `secret` to a 0600 file inside a fresh 0700 temp dir, runs `fn(file)`, and removes the
 * directory afterwards — also when `fn` throws. For engine flags like `--new-password-file`, so a
 * secret never travels through argv or the environment.
 */
export async function withSecretFile<T>(secret: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rm-secret-'));
  try {
    const file = path.join(dir, 'secret');
    await writeFile(file, secret, { mode: 0o600 });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
