import { lstat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A credential the caller handed over in a form restic cannot use; names the offending field. */
export class BackendConfigError extends Error {
  constructor(readonly field: string, why: string) {
    super(`${field}: ${why}`);
    this.name = 'BackendConfigError';
  }
}

/**
 * The private per-job directory the credential files go into. It must be a real directory
 * (not a symlink) of mode 0700 owned by this process's user: anything else could let another
 * user read the files or swap them.
 */
export class JobFiles {
  private constructor(readonly dir: string) {}

  static async at(dir: string): Promise<JobFiles> {
    const st = await lstat(dir);
    if (!st.isDirectory()) throw new Error(`the job directory ${dir} is not a directory`);
    if ((st.mode & 0o777) !== 0o700) throw new Error(`the job directory ${dir} must be mode 0700 (it is ${(st.mode & 0o777).toString(8)})`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new Error(`the job directory ${dir} is not owned by this user`);
    return new JobFiles(dir);
  }

  /** Writes a new 0600 file (never overwrites one) and returns its path. */
  async write(name: string, content: string): Promise<string> {
    const file = path.join(this.dir, name);
    await writeFile(file, content, { mode: 0o600, flag: 'wx' });
    return file;
  }
}
