import type { z } from 'zod';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; code: 'bad_json' | 'bad_frame' | 'too_large'; message: string };

/**
 * Parses one WebSocket text frame against a schema. Never throws. The message names the first
 * offending field but never echoes field values (frames can carry credentials).
 */
export function parseFrame<S extends z.ZodType>(schema: S, raw: string | Buffer, maxBytes: number): ParseResult<z.infer<S>> {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > maxBytes) return { ok: false, code: 'too_large', message: `frame of ${size} bytes exceeds ${maxBytes}` };
  let data: unknown;
  try {
    data = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return { ok: false, code: 'bad_json', message: 'frame is not valid JSON' };
  }
  const r = schema.safeParse(data);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'frame';
  return { ok: false, code: 'bad_frame', message: `${where}: ${issue?.message ?? 'invalid'}` };
}
