/** An origin no request can have: `next` values are resolved against it to see where they lead. */
const PROBE = 'http://next.invalid';

/** C0 controls, DEL and backslash: browsers drop or rewrite them, so `/\t/evil` would become `//evil`. */
const hasUnsafeChar = (v: string): boolean => [...v].some((ch) => ch === '\\' || ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);

/**
 * A same-origin path to return to after sign-in, or `/`. The value must be a path (`/…`, not
 * `//…`), free of control characters and backslashes, and still on the same origin once parsed
 * with `new URL`; anything else (absolute or protocol-relative URLs, `/%09/evil.example` after
 * decoding, newlines that would break the Location header) falls back to `/`.
 */
export function safeNext(v: unknown): string {
  if (typeof v !== 'string' || v.length > 2048 || !v.startsWith('/') || v.startsWith('//') || hasUnsafeChar(v)) return '/';
  let u: URL;
  try {
    u = new URL(v, PROBE);
  } catch {
    return '/';
  }
  if (u.origin !== PROBE) return '/';
  const out = `${u.pathname}${u.search}${u.hash}`;
  return out.startsWith('/') && !out.startsWith('//') ? out : '/';
}
