import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FailedFile } from '@restic-manager/engines';

/** Files named in a failed restore's summary; the rest are counted (restic's own lines in the job log list every one). */
const NAMED = 5;
/** Longest path or reason shown in the summary; longer ones keep their start and end. */
const SHOWN = 160;

const shorten = (s: string): string => (s.length <= SHOWN ? s : `${s.slice(0, 60)}…${s.slice(-(SHOWN - 61))}`);

/** How restic's reasons start (Go errors: an operation name, or a known message), to split `path: reason`. */
const REASON = /^(ciphertext verification failed|[A-Z][A-Za-z]*: |(open|mkdir|lstat|stat|symlink|link|read|write|truncate|remove|rename|chmod|chown|lchown|utimes) \/|[a-z][a-z ]+$)/;

/**
 * The file behind one `path: reason` line: restic prints the name unquoted and a name may
 * contain ": ", so each split is tried — one that exists under `target` first, then one whose
 * reason looks like restic's, else the first. `exists` tells whether a regular file is there.
 */
async function resolve(target: string, f: FailedFile): Promise<{ file: string; path: string; reason: string; exists: boolean }> {
  const text = `${f.path}: ${f.reason}`;
  const splits: { path: string; reason: string }[] = [];
  for (let i = text.indexOf(': '); i >= 0; i = text.indexOf(': ', i + 1)) splits.push({ path: text.slice(0, i), reason: text.slice(i + 2) });
  const inside = (p: string): string | null => {
    const file = path.join(target, p);
    return file.startsWith(path.join(target, path.sep)) ? file : null;
  };
  for (const c of splits) {
    const file = inside(c.path);
    if (file && (await lstat(file).catch(() => null))?.isFile()) return { ...c, file, exists: true };
  }
  const c = splits.find((x) => REASON.test(x.reason)) ?? { path: f.path, reason: f.reason };
  return { ...c, file: inside(c.path) ?? target, exists: false };
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
  // One entry per file: restic may report a file twice (the damaged blob, then its times).
  const byPath = new Map<string, { reasons: string[]; file: string; exists: boolean }>();
  for (const f of failed) {
    const r = await resolve(target, f).catch(() => ({ path: f.path, reason: f.reason, file: target, exists: false }));
    const e = byPath.get(r.path);
    if (e) e.reasons.push(r.reason);
    else byPath.set(r.path, { reasons: [r.reason], file: r.file, exists: r.exists });
  }
  const removed: string[] = [];
  const named: string[] = [];
  for (const [p, e] of byPath) {
    if (e.exists && (await rm(e.file, { force: true }).then(() => true, () => false))) removed.push(p);
    if (named.length < NAMED) named.push(`${shorten(p)} (${shorten(e.reasons.join('; '))})`);
  }
  return { named, count: byPath.size + Math.max(0, count - failed.length), removed };
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
