/*
 * A small browser stand-in for the OIDC flow tests: a cookie jar keyed by host:port, manual
 * redirects, and form submission (the provider's login and consent pages).
 */

export interface Hop {
  url: string;
  status: number;
  location: string | null;
  body: string;
}

export class CookieClient {
  private readonly jar = new Map<string, Map<string, string>>();
  /** Every URL this client was sent to, in order (for asserting what leaked into a URL). */
  readonly visited: string[] = [];

  cookie(origin: string, name: string): string | undefined {
    return this.jar.get(new URL(origin).host)?.get(name);
  }

  async get(url: string): Promise<Hop> {
    return this.send(url, { method: 'GET' });
  }

  async send(url: string, init: RequestInit): Promise<Hop> {
    this.visited.push(url);
    const host = new URL(url).host;
    const cookies = [...(this.jar.get(host) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string> | undefined), ...(cookies ? { cookie: cookies } : {}) } });
    for (const line of res.headers.getSetCookie()) this.store(host, line);
    const location = res.headers.get('location');
    return { url, status: res.status, location: location ? new URL(location, url).href : null, body: await res.text() };
  }

  /**
   * Follows redirects from `url`; on an HTML page with a form at `formHost` fills `login` /
   * `password` and submits. Stops at the first response that is neither (returns it), or at
   * the first URL `stopAt` matches (not requested).
   */
  async run(url: string, o: { login?: string; formHost?: string; stopAt?: (u: string) => boolean } = {}): Promise<Hop> {
    let hop = await this.get(url);
    for (let i = 0; i < 20; i++) {
      if (hop.location) {
        if (o.stopAt?.(hop.location)) return hop;
        hop = await this.get(hop.location);
        continue;
      }
      const form = hop.status === 200 && o.formHost && new URL(hop.url).host === o.formHost ? parseForm(hop.body, hop.url) : null;
      if (!form) return hop;
      if ('login' in form.fields) form.fields.login = o.login ?? '';
      if ('password' in form.fields) form.fields.password = 'any-password';
      hop = await this.send(form.action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form.fields).toString() });
    }
    throw new Error(`too many hops from ${url}`);
  }

  private store(host: string, line: string): void {
    const [pair = '', ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const jar = this.jar.get(host) ?? new Map<string, string>();
    this.jar.set(host, jar);
    const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now()));
    if (expired || value === '') jar.delete(name);
    else jar.set(name, value);
  }
}

function parseForm(html: string, base: string): { action: string; fields: Record<string, string> } | null {
  const m = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!m?.[1]) return null;
  const fields: Record<string, string> = {};
  for (const input of m[2]?.matchAll(/<input[^>]*>/gi) ?? []) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    if (name) fields[name] = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
  }
  return { action: new URL(m[1].replace(/&amp;/g, '&'), base).href, fields };
}
