import type { z } from 'zod';
import { DomainError } from '../services/errors.js';

/* Form handling for the web routes: HTML forms post flat `a.b` names; the REST zod schemas
   validate the nested object, so field errors come back under the same `a.b` names. */

export type FormValue = string | string[] | undefined;

/** Name segments that would reach an object's prototype chain: a field using one is refused. */
const UNSAFE_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);

/** An object with no prototype: reading an absent field gives `undefined`, never an inherited member. */
export const bare = (): Record<string, unknown> => Object.create(null) as Record<string, unknown>;

const isBare = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === null;

const refuse = (key: string, why: string): DomainError => new DomainError('validation_failed', `${key}: ${why}`, { [key]: why });

/**
 * Turns `{ 'repository.url': 'x' }` into `{ repository: { url: 'x' } }`. `_csrf` is dropped.
 * Every object it builds has a null prototype, and a name with a `__proto__`, `prototype` or
 * `constructor` segment, or one that is both a value and a group (`a` and `a.b`), is refused with
 * a `validation_failed` error naming the field: nothing outside the result is ever written.
 */
export function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out = bare();
  for (const key of Object.keys(flat)) {
    if (key === '_csrf') continue;
    const parts = key.split('.');
    if (parts.some((p) => UNSAFE_SEGMENTS.has(p))) throw refuse(key, 'this field name is not allowed');
    let cur = out;
    for (const p of parts.slice(0, -1)) {
      const next = Object.hasOwn(cur, p) ? cur[p] : (cur[p] = bare());
      if (!isBare(next)) throw refuse(key, 'this field is also sent as a single value');
      cur = next;
    }
    const leaf = parts[parts.length - 1] ?? key;
    if (Object.hasOwn(cur, leaf)) throw refuse(key, 'this field is also sent as a group');
    cur[leaf] = flat[key];
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

/** The maintenance-credential form (host Repo tab, repository page): 400 naming each missing field. */
export function maintenanceCredentialForm(f: Record<string, unknown>): { url: string | null; rest_username: string; rest_password: string } {
  const user = opt(f.rest_username);
  const pass = typeof f.rest_password === 'string' && f.rest_password !== '' ? f.rest_password : undefined;
  if (!user || !pass) throw new DomainError('validation_failed', 'enter the REST user and password of the non-append-only endpoint', { ...(user ? {} : { rest_username: 'required' }), ...(pass ? {} : { rest_password: 'required' }) });
  return { url: opt(f.url) ?? null, rest_username: user, rest_password: pass };
}
