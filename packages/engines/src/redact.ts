/**
 * Secret scrubbing. Every line the library hands out (onLine, diagnostics, error messages,
 * stderr tails) goes through a Redactor built from the call's Connection.
 */

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/gi;

/** `rest:https://user:pass@host/x` -> `rest:https://user:***@host/x`. Anything without userinfo is unchanged. */
export function redactUrl(url: string): string {
  return url.replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:***@`);
}

export class Redactor {
  private readonly secrets: string[];

  /** Secrets shorter than 4 characters are ignored (they would mangle ordinary text). */
  constructor(secrets: (string | undefined)[]) {
    const set = new Set<string>();
    for (const s of secrets) {
      if (!s || s.length < 4) continue;
      set.add(s);
      set.add(encodeURIComponent(s));
    }
    // Longest first so a secret containing another is replaced whole.
    this.secrets = [...set].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = redactUrl(text);
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  }
}
