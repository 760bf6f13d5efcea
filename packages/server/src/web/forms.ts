import type { z } from 'zod';
import { DomainError } from '../services/errors.js';

/* Form handling for the web routes: HTML forms post flat `a.b` names; the REST zod schemas
   validate the nested object, so field errors come back under the same `a.b` names. */

export type FormValue = string | string[] | undefined;

/** Turns `{ 'repository.url': 'x' }` into `{ repository: { url: 'x' } }`. `_csrf` is dropped. */
export function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    if (key === '_csrf') continue;
    const parts = key.split('.');
    let cur: Record<string, unknown> = out;
    for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
    cur[parts[parts.length - 1] ?? key] = value;
  }
  return out;
}

/** "a, b ,,c" -> ["a","b","c"]. */
export const list = (v: unknown): string[] =>
  typeof v === 'string' ? v.split(/[,\n]/).map((s) => s.trim()).filter(Boolean) : Array.isArray(v) ? v.map(String) : [];

/** An optional text input: empty -> undefined. */
export const opt = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** "" -> undefined, "7" -> 7, "x" -> "x" (zod then names the field). */
export const numOrRaw = (v: unknown): unknown => {
  const s = opt(v);
  return s === undefined ? undefined : /^\d+$/.test(s) ? Number(s) : s;
};

/** The `limit_upload_kbps` / `limit_download_kbps` inputs of a form section, numbers where they are. */
export function bandwidthOf(raw: unknown): Record<string, unknown> {
  const o = (raw ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ['limit_upload_kbps', 'limit_download_kbps']) {
    const v = numOrRaw(o[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Validates with a REST schema; failures become the same `validation_failed` error (with fields) as the API's. */
export function parseForm<T>(schema: z.ZodType<T>, data: unknown): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const fields: Record<string, string> = {};
  for (const i of r.error.issues) fields[i.path.length ? i.path.join('.') : 'form'] ??= i.message;
  const [name, msg] = Object.entries(fields)[0] ?? ['form', 'invalid input'];
  throw new DomainError('validation_failed', `${name}: ${msg}`, fields);
}
