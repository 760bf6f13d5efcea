import type { Redactor } from '../redact.js';
import type { FailedFile } from '../types.js';

/** At most this many failed files are kept by name; the count covers all of them. */
export const MAX_FAILED_FILES = 1000;

/**
 * Collects the files a restic restore could not restore, from its stderr lines
 * `ignoring error for /snapshot/path: reason` (restic 0.14–0.17; one per file, before the final
 * `Fatal: There were N errors`). Paths are as in the snapshot. A name that itself contains
 * ": " is split at the first separator, so `path` may then be a prefix: callers check it exists.
 */
export class RestoreFailures {
  readonly files: FailedFile[] = [];
  count = 0;

  constructor(private readonly redactor: Redactor) {}

  readonly line = (line: string): void => {
    const m = /^ignoring error for (\/.*?): (.*)$/.exec(line);
    if (!m) return;
    this.count++;
    if (this.files.length < MAX_FAILED_FILES) this.files.push({ path: m[1] ?? '', reason: this.redactor.redact(m[2] ?? '') });
  };
}
