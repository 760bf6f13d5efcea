import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FailedFile } from '@restic-manager/engines';

/** Files named in a failed restore's summary; the rest are counted (restic's own lines in the job log list every one). */
const NAMED = 5;
/** Longest path or reason shown in the summary; longer ones keep their start and end. */
const SHOWN = 160;

const shorten = (s: string): string => (s.length <= SHOWN ? s : `${s.slice(0, 60)}…${s.slice(-(SHOWN - 61))}`);

/**
 * Where a failed file landed under `target`, or null when nothing is there. restic prints
 * `path: reason` and a name may itself contain ": ", so every split is tried, shortest first.
 */
async function landed(target: string, f: FailedFile): Promise<{ file: string; path: string; reason: string } | null> {
  const text = `${f.path}: ${f.reason}`;
  for (let i = text.indexOf(': '); i >= 0; i = text.indexOf(': ', i + 1)) {
    const p = text.slice(0, i);
    const file = path.join(target, p);
    if (!file.startsWith(path.join(target, path.sep)) && file !== target) continue;
    const st = await lstat(file).catch(() => null);
    if (st?.isFile()) return { file, path: p, reason: text.slice(i + 2) };
  }
  return null;
}

export interface FailedFilesReport {
  /** `path (reason)` of the first few files. */
  named: string[];
  count: number;
  /** Snapshot paths of the files removed from the target. */
  removed: string[];
}

/**
 * After a restore that failed for some files: removes each such file from `target` (restic
 * leaves it full-size with wrong or missing content under its final name). Never throws.
 */
export async function removeFailedFiles(target: string, failed: FailedFile[], count: number): Promise<FailedFilesReport> {
  const removed: string[] = [];
  const named: string[] = [];
  for (const f of failed) {
    const at = await landed(target, f).catch(() => null);
    if (at && (await rm(at.file, { force: true }).then(() => true, () => false))) removed.push(at.path);
    if (named.length < NAMED) named.push(`${shorten(at?.path ?? f.path)} (${shorten(at?.reason ?? f.reason)})`);
  }
  return { named, count, removed };
}

/** The job's error summary: which files, why, and what became of them. */
export function failedFilesMessage(r: FailedFilesReport, outcome: { removedFrom: string } | { notMovedTo: string }): string {
  const more = r.count > r.named.length ? `, and ${r.count - r.named.length} more` : '';
  let after: string;
  if ('notMovedTo' in outcome) after = `; nothing of this part was moved to ${outcome.notMovedTo}`;
  else if (r.removed.length === 0) after = '';
  else after = `; ${r.removed.length === r.count ? (r.count === 1 ? 'it was' : 'they were') : `${r.removed.length} of them were`} removed from ${outcome.removedFrom} so no damaged file is left under its name`;
  return `${r.count} file(s) could not be restored: ${r.named.join(', ')}${more}${after}; every other file was restored`;
}
