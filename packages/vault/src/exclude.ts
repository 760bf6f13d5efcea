/**
 * Exclude patterns with vaultik's semantics, matched against the path RELATIVE TO THE
 * SOURCE ROOT being walked (`rel`, `/`-separated, no leading slash; the root itself is ''):
 *
 *  - `/x`     anchored: only `<root>/x` (vaultik: `/cache` means `<source>/cache`);
 *  - `x`      no slash: a name at any depth (`*.log`, `node_modules`);
 *  - `a/b`    a slash inside: that relative path at any depth (`<root>/a/b`, `<root>/c/a/b`);
 *  - `x/`     trailing slash: directories only (gitignore's convention);
 *  - `**`     as a whole segment crosses directories: `**\/x` (x at any depth), `a/**`
 *             (everything inside a), `a/**\/b` (b anywhere below a);
 *  - `*` `?` `[abc]` `[!a-z]` within one segment (`*` matches a leading dot); `\x` is a literal x.
 *
 * A directory that matches is pruned: nothing below it is visited (see walk.ts), and
 * `excludes()` treats every path below a matching directory as excluded.
 */

interface Rule {
  re: RegExp;
  dirOnly: boolean;
}

/** Translates one glob (already stripped of its anchor and trailing slash) to a regexp body. */
export function globToRegExpSource(glob: string): string {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    const atSegmentStart = i === 0 || glob[i - 1] === '/';
    if (c === '*' && glob[i + 1] === '*' && atSegmentStart && (i + 2 === glob.length || glob[i + 2] === '/')) {
      if (i + 2 === glob.length) re += '.*';
      else re += '(?:.*/)?';
      i += 2; // skip the second `*` and the `/` (or run past the end)
    } else if (c === '*') {
      while (glob[i + 1] === '*') i++; // `a**b` is an ordinary `*`
      re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, end);
        const negate = body.startsWith('!') || body.startsWith('^');
        if (negate) body = body.slice(1);
        re += `[${negate ? '^/' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) {
      re += glob[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return re;
}

function compile(pattern: string): Rule | null {
  let p = pattern.trim();
  const dirOnly = p.length > 1 && p.endsWith('/');
  p = p.replace(/\/+$/, '');
  const anchored = p.startsWith('/');
  p = p.replace(/^\/+/, '');
  if (p === '') return null;
  const body = globToRegExpSource(p);
  return { re: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`), dirOnly };
}

export class Excluder {
  private readonly rules: Rule[];
  constructor(patterns: readonly string[]) {
    this.rules = patterns.map(compile).filter((r): r is Rule => r !== null);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** Whether the entry `rel` itself matches a pattern (its ancestors are not consulted). */
  matches(rel: string, isDir: boolean): boolean {
    if (rel === '') return false;
    return this.rules.some((r) => (isDir || !r.dirOnly) && r.re.test(rel));
  }

  /** Whether `rel` is left out of the backup: it matches, or one of its ancestor directories does. */
  excludes(rel: string, isDir: boolean): boolean {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) if (this.matches(parts.slice(0, i).join('/'), true)) return true;
    return this.matches(rel, isDir);
  }
}
