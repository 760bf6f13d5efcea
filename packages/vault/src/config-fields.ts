/**
 * Reads one mapping of the document, collecting problems (named by key) instead of
 * stopping at the first. Hand-written rather than zod (and YAML read with js-yaml
 * rather than yaml): zod adds ~13 MB and yaml ~9 MB to the backup process's RSS,
 * which the vault's memory target cannot afford (docs/decisions/0009-vault-speed-and-memory.md).
 */
export class Fields {
  constructor(
    private readonly doc: Record<string, unknown>,
    private readonly prefix: string,
    known: readonly string[],
    readonly problems: string[],
  ) {
    const unknown = Object.keys(doc).filter((k) => !known.includes(k));
    if (unknown.length > 0) problems.push(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${prefix}${k}'`).join(', ')}`);
  }
  /** Records a problem with `key` (prefixed with this mapping's path). */
  fail(key: string, msg: string): undefined {
    this.problems.push(`${this.prefix}${key}: ${msg}`);
    return undefined;
  }
  string(key: string, opts: { required?: boolean; allowEmpty?: boolean } = {}): string | undefined {
    const v = this.doc[key];
    if (v === undefined || v === null) return opts.required ? this.fail(key, 'required') : undefined;
    if (typeof v !== 'string') return this.fail(key, `expected a string, got ${typeof v}`);
    if (v === '' && !opts.allowEmpty) return this.fail(key, 'must not be empty');
    return v;
  }
  strings(key: string, emptyMsg?: string): string[] | undefined {
    const v = this.doc[key];
    if (v === undefined || v === null) return emptyMsg ? this.fail(key, emptyMsg) : [];
    if (!Array.isArray(v)) return this.fail(key, 'expected a list of strings');
    const bad = v.findIndex((x) => typeof x !== 'string' || (emptyMsg !== undefined && x === ''));
    if (bad >= 0) return this.fail(`${key}.${bad}`, 'expected a non-empty string');
    if (emptyMsg && v.length === 0) return this.fail(key, emptyMsg);
    return v as string[];
  }
  parsed(key: string, parse: (v: string | number) => number, fallback: number): number {
    const v = this.doc[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' && typeof v !== 'number') return this.fail(key, `expected a string or number, got ${typeof v}`) ?? fallback;
    try {
      return parse(v);
    } catch (e) {
      return this.fail(key, (e as Error).message) ?? fallback;
    }
  }
  int(key: string, min: number, max: number, fallback: number): number {
    const v = this.doc[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return this.fail(key, `expected an integer from ${min} to ${max}`) ?? fallback;
    return v;
  }
  bool(key: string): boolean | undefined {
    const v = this.doc[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') return this.fail(key, 'expected true or false');
    return v;
  }
  has(key: string): boolean {
    return this.doc[key] !== undefined && this.doc[key] !== null;
  }
  /** A mapping whose keys are names chosen by the user (e.g. `snapshots:`); values are returned raw. */
  entries(key: string): Array<[string, unknown]> | undefined {
    const v = this.doc[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) return this.fail(key, 'expected a mapping');
    return Object.entries(v as Record<string, unknown>);
  }
  /** A nested mapping given as a raw value (e.g. one entry of `entries()`), read with `known` keys. */
  sub(name: string, v: unknown, known: readonly string[]): Fields | undefined {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return this.fail(name, 'expected a mapping');
    return new Fields(v as Record<string, unknown>, `${this.prefix}${name}.`, known, this.problems);
  }
  mapping(key: string, known: readonly string[]): Fields | undefined {
    const v = this.doc[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) return this.fail(key, 'expected a mapping');
    return new Fields(v as Record<string, unknown>, `${this.prefix}${key}.`, known, this.problems);
  }
}
