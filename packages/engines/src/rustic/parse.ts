import type { Snapshot } from '../types.js';

/**
 * Parsers for rustic's `--json` output. rustic prints pretty-printed JSON, and several objects
 * back to back without separators (`backup --json` with several sources), so output is split
 * into top-level JSON values, never into lines. Shapes (fixtures in test/fixtures/rustic):
 * - snapshots, rustic >= 0.10: `[{"group_key": {...}, "snapshots": [SnapshotFile...]}]` (0.11.4 live)
 * - snapshots, rustic <= 0.9: `[[group, [SnapshotFile...]]]`
 * - forget, rustic 0.11.4: `[{"group_key": {...}, "items": [{"snapshot": SnapshotFile, "keep": bool,
 *   "reasons": [...]}]}]`; rustic 0.9 used the `[[group, [entries]]]` grouping
 * - a SnapshotFile's `summary` holds its backup's counters (stats restore-size adds them up); the
 *   engine backs up with `--json-progress backup`, whose lines are restic's status/summary messages.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Splits text holding zero or more concatenated JSON values; non-JSON text between them is returned separately. */
export function splitJsonValues(text: string): { values: unknown[]; other: string[] } {
  const values: unknown[] = [];
  const other: string[] = [];
  let i = 0;
  while (i < text.length) {
    const start = text.slice(i).search(/[[{]/);
    if (start === -1) {
      if (text.slice(i).trim()) other.push(text.slice(i).trim());
      break;
    }
    if (text.slice(i, i + start).trim()) other.push(text.slice(i, i + start).trim());
    let depth = 0;
    let inStr = false;
    let end = -1;
    for (let j = i + start; j < text.length; j++) {
      const c = text[j];
      if (inStr) {
        if (c === '\\') j++;
        else if (c === '"') inStr = false;
      } else if (c === '"') inStr = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          end = j + 1;
          break;
        }
      }
    }
    if (end === -1) {
      other.push(text.slice(i + start).trim());
      break;
    }
    const chunk = text.slice(i + start, end);
    try {
      values.push(JSON.parse(chunk));
    } catch {
      other.push(chunk.trim());
    }
    i = end;
  }
  return { values, other };
}

export function parseRusticSnapshot(v: unknown): Snapshot | undefined {
  if (!isObj(v) || typeof v.id !== 'string') return undefined;
  const s: Snapshot = {
    id: v.id,
    shortId: v.id.slice(0, 8),
    time: typeof v.time === 'string' ? v.time : '',
    hostname: typeof v.hostname === 'string' ? v.hostname : '',
    paths: strs(v.paths),
    tags: strs(v.tags),
  };
  if (typeof v.username === 'string' && v.username) s.username = v.username;
  if (typeof v.parent === 'string') s.parent = v.parent;
  if (typeof v.tree === 'string') s.tree = v.tree;
  return s;
}

/** The members of every group, whichever grouping shape this rustic version prints. */
export function groupMembers(v: unknown): unknown[] {
  if (!Array.isArray(v)) return [];
  const out: unknown[] = [];
  for (const g of v) {
    if (isObj(g) && Array.isArray(g.snapshots)) out.push(...(g.snapshots as unknown[]));
    else if (isObj(g) && Array.isArray(g.items)) out.push(...(g.items as unknown[]));
    else if (Array.isArray(g) && g.length === 2 && Array.isArray(g[1])) out.push(...(g[1] as unknown[]));
    else if (isObj(g)) out.push(g); // an ungrouped flat list
  }
  return out;
}

export function parseRusticSnapshots(v: unknown): Snapshot[] {
  return groupMembers(v).map(parseRusticSnapshot).filter((s): s is Snapshot => s !== undefined);
}

export function parseRusticForget(v: unknown): { keep: Snapshot[]; remove: Snapshot[]; reasons: Record<string, string[]> } {
  const out = { keep: [] as Snapshot[], remove: [] as Snapshot[], reasons: {} as Record<string, string[]> };
  for (const m of groupMembers(v)) {
    if (!isObj(m)) continue;
    const s = parseRusticSnapshot(m.snapshot);
    if (!s) continue;
    (m.keep === true ? out.keep : out.remove).push(s);
    // rustic 0.11 names the rules in one word: "last", "daily", "within", "tags"…
    if (m.keep === true && Array.isArray(m.reasons)) out.reasons[s.id] = m.reasons.filter((r): r is string => typeof r === 'string');
  }
  return out;
}

/**
 * `rustic diff a b` prints `<modifier>    "<path>"` per changed path (path Rust-Debug-quoted,
 * relative to the snapshot root), then `Files   : 2 =, 1 +, ...` totals, which are skipped.
 */
export function parseRusticDiffLine(line: string): { modifier: string; path: string } | undefined {
  const m = /^([-+MTU?])\s+(".*")\s*$/.exec(line);
  const p = m?.[2] === undefined ? undefined : unquoteRust(m[2]);
  return m?.[1] && p !== undefined ? { modifier: m[1], path: `/${p}` } : undefined;
}

/** `rustic list keys` prints one `KeyId(<64 hex>)` per line (0.11.4); older versions the bare id. */
export function parseRusticKeyIds(text: string): string[] {
  return text.split('\n').map((l) => /^(?:KeyId\()?([0-9a-f]{64})\)?$/.exec(l.trim())?.[1]).filter((id): id is string => id !== undefined);
}

/** `rustic restore` prints `Files:  3 to restore, 0 unchanged, 0 verified, 0 to modify, 0 additional`. */
export function parseRusticRestoreFiles(line: string): number | undefined {
  const m = /^Files:\s+(\d+) to restore, \d+ unchanged, \d+ verified, (\d+) to modify/.exec(line.trim());
  return m ? Number(m[1]) + Number(m[2]) : undefined;
}

/**
 * A Rust `{:?}`-quoted string (`"a \"b\"\n"`) -> its text. Escapes: \\ \" \' \n \r \t \0,
 * \u{hex}, and \xNN for bytes of a path that is not UTF-8 (decoded as UTF-8, lossy). undefined
 * when `s` is not one quoted string.
 */
export function unquoteRust(s: string): string | undefined {
  if (s.length < 2 || !s.startsWith('"') || !s.endsWith('"')) return undefined;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  const push = (t: string): void => {
    bytes.push(...enc.encode(t));
  };
  const SIMPLE: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', r: '\r', t: '\t', '0': '\0' };
  for (let i = 1; i < s.length - 1; i++) {
    const c = String.fromCodePoint(s.codePointAt(i) ?? 0);
    if (c === '"') return undefined;
    if (c !== '\\') {
      push(c);
      i += c.length - 1; // a character outside the BMP is two UTF-16 units
      continue;
    }
    const e = s[++i] ?? '';
    const simple = SIMPLE[e];
    if (simple !== undefined) push(simple);
    else if (e === 'u') {
      const m = /^\{([0-9a-fA-F]{1,6})\}/.exec(s.slice(i + 1));
      if (!m?.[1]) return undefined;
      push(String.fromCodePoint(parseInt(m[1], 16)));
      i += m[0].length;
    } else if (e === 'x') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return undefined;
      bytes.push(parseInt(h, 16));
      i += 2;
    } else return undefined;
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** `rustic --version` -> "0.10.2" (prints `rustic 0.10.2` or `rustic v0.10.2-1-g189b17c`). */
export function parseRusticVersion(text: string): string | undefined {
  return /rustic v?(\d+\.\d+\.\d+)/.exec(text)?.[1];
}
