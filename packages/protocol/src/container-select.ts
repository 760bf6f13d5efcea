import { z } from 'zod';

/**
 * One entry of `stop_containers` (BackupArgs, ScheduleSpec, ScheduleInput; docs/databases.md
 * "Stopping containers around a backup"): a container name or id, or a label selector
 * `label:<key>` / `label:<key>=<value>` choosing every running container carrying that label
 * (that value). A name never contains `:`, so the prefix cannot be mistaken for one.
 *
 * Strict on purpose: the entry reaches a Docker API filter and the job log, and the forms split
 * lists on commas, so commas, spaces, quotes, `=` inside values and control characters are refused.
 */

export const LABEL_SELECTOR_PREFIX = 'label:';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const NAME_MAX = 128;
/** Label keys: reverse-DNS style (`com.docker.compose.service`, `backup-group`). */
const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const KEY_MAX = 128;
const VALUE_RE = /^[A-Za-z0-9._:/@+-]+$/;
const VALUE_MAX = 128;

export type StopSelector = { kind: 'name'; name: string } | { kind: 'label'; key: string; value: string | null };

/** Parses one entry; the error says what is wrong (the caller names the field). Pure. */
export function parseStopSelector(entry: string): { ok: true; value: StopSelector } | { ok: false; error: string } {
  if (!entry.startsWith(LABEL_SELECTOR_PREFIX)) {
    if (entry.length === 0) return { ok: false, error: 'empty: a container name or id, or label:<key>[=<value>]' };
    if (entry.length > NAME_MAX) return { ok: false, error: `a container name or id is at most ${NAME_MAX} characters` };
    if (!NAME_RE.test(entry)) return { ok: false, error: 'a container name or id (A-Z a-z 0-9 _ . -, not starting with _ . -), or label:<key>[=<value>]' };
    return { ok: true, value: { kind: 'name', name: entry } };
  }
  const rest = entry.slice(LABEL_SELECTOR_PREFIX.length);
  const eq = rest.indexOf('=');
  const key = eq < 0 ? rest : rest.slice(0, eq);
  const value = eq < 0 ? null : rest.slice(eq + 1);
  if (key.length === 0) return { ok: false, error: 'label:<key>[=<value>] needs a key' };
  if (key.length > KEY_MAX) return { ok: false, error: `a label key is at most ${KEY_MAX} characters` };
  if (!KEY_RE.test(key)) return { ok: false, error: 'a label key is A-Z a-z 0-9 . _ - (starting with a letter or digit)' };
  if (value !== null) {
    if (value.length === 0) return { ok: false, error: `label:${key}= needs a value (or write label:${key} for any value)` };
    if (value.length > VALUE_MAX) return { ok: false, error: `a label value is at most ${VALUE_MAX} characters` };
    if (!VALUE_RE.test(value)) return { ok: false, error: 'a label value is A-Z a-z 0-9 . _ - : / @ + (no = , spaces or quotes)' };
  }
  return { ok: true, value: { kind: 'label', key, value } };
}

/** `key` or `key=value`: the Docker API's `label` filter, and how the job log names a selector. */
export function labelFilter(s: { key: string; value: string | null }): string {
  return s.value === null ? s.key : `${s.key}=${s.value}`;
}

/** A `stop_containers` entry, validated by parseStopSelector. */
export const StopContainersEntry = z
  .string()
  .max(LABEL_SELECTOR_PREFIX.length + KEY_MAX + 1 + VALUE_MAX, { message: 'too long: a container name, or label:<key>[=<value>] (key and value at most 128 characters each)', abort: true })
  .superRefine((s, ctx) => {
    const r = parseStopSelector(s);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error });
  })
  .meta({ description: 'A container name or id, or label:<key> / label:<key>=<value> (every running container with that label)' });

/** Whether a list holds a label selector (an agent must announce `stop_containers_labels` for it). */
export function hasLabelSelector(entries: readonly string[] | null | undefined): boolean {
  return (entries ?? []).some((e) => e.startsWith(LABEL_SELECTOR_PREFIX));
}
