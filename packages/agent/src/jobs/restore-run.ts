import { randomBytes } from 'node:crypto';
import { chmod, lchown, lstat, mkdir, readdir, rename, rm, rmdir, utimes } from 'node:fs/promises';
import path from 'node:path';
import { planRestore } from '@restic-manager/protocol';
import type { RestoreArgs } from '@restic-manager/protocol';
import type { Connection, Engine, ProgressOptions, RestoreSummary, Result } from '@restic-manager/engines';
import { failedFilesMessage, removeFailedFiles } from './restore-cleanup.js';

/**
 * restic's include/exclude patterns are globs: a literal `*`, `?`, `[` or `\` in a path is
 * escaped. A name that is not valid UTF-8 reaches the browser from restic's JSON with one U+FFFD
 * per undecodable byte; each becomes the class `[\uFFFD]`, which restic (Go's filepath.Match
 * compares classes by decoded rune, and an undecodable byte decodes as U+FFFD) matches to exactly
 * one undecodable byte (or a real U+FFFD) — never to any other character.
 */
export const literalPattern = (p: string): string => p.replace(/[*?[\\]/g, '\\$&').replaceAll('\uFFFD', '[\uFFFD]');

export type RestoreRunResult = { ok: true; summary: RestoreSummary; parts: number } | { ok: false; result: Result<RestoreSummary> | null; message: string };

/**
 * Moves `src` onto `dst`. A missing `dst` is a plain rename; two directories are merged entry by
 * entry (the directory then takes the restored mode, owner and times); anything else replaces
 * `dst` — as restic 0.14 itself overwrites existing files.
 */
export async function mergeMove(src: string, dst: string): Promise<void> {
  const d = await lstat(dst).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (!d) return rename(src, dst);
  const s = await lstat(src);
  if (s.isDirectory() && d.isDirectory()) {
    for (const name of await readdir(src)) await mergeMove(path.join(src, name), path.join(dst, name));
    await chmod(dst, s.mode & 0o7777);
    await lchown(dst, s.uid, s.gid).catch(() => undefined);
    await utimes(dst, s.atime, s.mtime);
    await rmdir(src);
    return;
  }
  if (d.isDirectory()) await rm(dst, { recursive: true, force: true });
  await rename(src, dst);
}

/**
 * Runs a restore as restore-plan.ts splits it: one restic run for the paths that are not
 * remapped, and per remap one run into a staging directory next to `to` (same file system, so
 * the move is a rename) followed by the move. An engine that cannot name the files a failed
 * restore left damaged (`restoreNamesFailedFiles` false: rustic) restores a directory restore's
 * part into a staging directory inside its target, moved into place only after a success, so a
 * failure leaves no file with wrong content under its name (and nothing of that part). Staging
 * directories are removed on every exit.
 */
export async function runRestore(engine: Engine, conn: Connection, a: RestoreArgs, opts: ProgressOptions): Promise<RestoreRunResult> {
  const tag = randomBytes(4).toString('hex');
  const plan = planRestore(
    { target: a.target, include: a.include, exclude: a.exclude, remap: a.remap ?? [] },
    (to, i) => path.join(path.dirname(to), `.restic-manager-restore-${tag}-${i}`),
  );
  if (!plan.ok) return { ok: false, result: null, message: `invalid restore arguments: ${plan.field}: ${plan.message}` };
  const say = (line: string): void => opts.onLine?.({ stream: 'stdout', line: `restic-manager: ${line}`, ts: new Date() });
  /** A failed part: its message said in the job's log and carried by the engine's error. */
  const failed = (r: Extract<Result<RestoreSummary>, { ok: false }>, message: string): RestoreRunResult => {
    say(message);
    return { ok: false, result: { ok: false, error: { ...r.error, message } }, message };
  };
  const total: RestoreSummary = { filesRestored: 0, bytesRestored: 0, durationSeconds: 0 };
  const staged: string[] = [];
  try {
    for (const [i, part] of plan.parts.entries()) {
      if (plan.parts.length > 1) {
        say(part.move
          ? `part ${i + 1}/${plan.parts.length}: ${part.move.from.slice(part.target.length)} -> ${part.move.to} (via ${part.target})`
          : `part ${i + 1}/${plan.parts.length}: ${part.include.length ? part.include.join(', ') : 'the snapshot'} -> ${part.target}`);
      }
      if (part.move) {
        await mkdir(path.dirname(part.move.to), { recursive: true });
        staged.push(part.target);
      }
      // (a restore to the original location, target /, is not staged: it overwrites in place anyway;
      // the name is short: every restored path grows by it, and a path near PATH_MAX must still fit)
      const stage = !part.move && !engine.restoreNamesFailedFiles && part.target !== path.sep ? path.join(part.target, `.rm${tag}${i}`) : null;
      if (stage) {
        await mkdir(stage, { recursive: true, mode: 0o700 });
        staged.push(stage);
      }
      const r = await engine.restore(conn, {
        snapshot: a.snapshot_id, target: stage ?? part.target, verify: a.verify,
        include: part.include.map(literalPattern), exclude: part.exclude.map(literalPattern),
      }, opts);
      if (!r.ok && r.error.failedFiles?.length) {
        // A file restic could not restore stays full-size with wrong content: remove it and say which.
        const report = await removeFailedFiles(part.target, r.error.failedFiles, r.error.failedFileCount ?? r.error.failedFiles.length);
        return failed(r, failedFilesMessage(report, part.move ? { notMovedTo: part.move.to } : { removedFrom: part.target }));
      }
      if (!r.ok && stage) return failed(r, `${r.error.message}; ${engine.name} does not say which files it could not restore, so nothing of this restore was put under ${part.target}`);
      if (!r.ok) return { ok: false, result: r, message: r.error.message };
      if (stage) for (const name of await readdir(stage)) await mergeMove(path.join(stage, name), path.join(part.target, name));
      total.bytesRestored += r.value.bytesRestored;
      total.durationSeconds += r.value.durationSeconds;
      total.filesRestored = r.value.filesRestored === null || total.filesRestored === null ? null : total.filesRestored + r.value.filesRestored;
      if (part.move) {
        const exists = await lstat(part.move.from).then(() => true, () => false);
        if (!exists) return { ok: false, result: null, message: `nothing was restored under ${part.move.from.slice(part.target.length)}: the path is not in the snapshot` };
        await mergeMove(part.move.from, part.move.to);
      }
    }
    return { ok: true, summary: total, parts: plan.parts.length };
  } finally {
    for (const dir of staged) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
