/*
 * How a restore with path remapping becomes restic runs (docs/decisions/0008-cross-host-restore.md).
 * restic 0.14 (Debian's) has no `snapshot:subfolder` syntax and refuses `--include` together with
 * `--exclude`, so a remap `from -> to` is one extra restic run that restores the selected paths
 * under `from` into a staging directory next to `to`, after which the agent moves
 * `<staging>/<from>` onto `to`. Paths outside every remap are restored in one ordinary run.
 * Pure functions: the server validates with them, the agent executes their output.
 */

export interface Remap {
  from: string;
  to: string;
}

export interface RestorePlanInput {
  /** restic `--target` of the paths that are not remapped: `/` = original location. */
  target: string;
  /** Selected absolute paths; empty = the whole snapshot. */
  include: readonly string[];
  exclude: readonly string[];
  remap: readonly Remap[];
}

/** One restic run. */
export interface RestorePart {
  /** restic `--target`. */
  target: string;
  include: string[];
  exclude: string[];
  /** Remapped runs only: after restic, move `<target><from>` onto `to` (merging into what exists). */
  move?: Remap;
}

export type RestorePlan = { ok: true; parts: RestorePart[] } | { ok: false; field: string; message: string };

/** `/a/b/` -> `/a/b`; `/` stays `/`. */
export const normalisePath = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') || '/' : p).replace(/\/{2,}/g, '/');

/** True when `p` is `dir` or lies below it. */
export const isUnder = (p: string, dir: string): boolean => dir === '/' || p === dir || p.startsWith(`${dir}/`);

const badSegment = (p: string): boolean => p.split('/').some((s) => s === '..' || s === '.');

/** Checks absolute, normalised paths without `.`/`..` segments. Returns a message or null. */
export function pathProblem(p: string): string | null {
  if (!p.startsWith('/')) return 'must be an absolute path';
  if (badSegment(p)) return 'must not contain . or .. segments';
  if (p.includes('\0')) return 'must not contain NUL';
  return null;
}

/**
 * Splits a restore into restic runs. `staging(to, i)` names the staging directory of remap `i`
 * (it must lie on the same file system as `to`, e.g. next to it). Fails with the offending
 * field (`target`, `include.0`, `remap.1.from`, ...) and a message a person can act on. The
 * target is normalised (`//` and a trailing `/` collapse) and refused when it is relative or keeps
 * a `.` or `..` segment: the agent runs this too, so a restore never climbs out of its target.
 */
export function planRestore(input: RestorePlanInput, staging: (to: string, index: number) => string): RestorePlan {
  const target = normalisePath(input.target);
  const badTarget = pathProblem(target);
  if (badTarget) return { ok: false, field: 'target', message: `restore target ${badTarget}` };
  const include = input.include.map(normalisePath);
  const remap = input.remap.map((r) => ({ from: normalisePath(r.from), to: normalisePath(r.to) }));
  for (const [i, p] of include.entries()) {
    const bad = pathProblem(p);
    if (bad) return { ok: false, field: `include.${i}`, message: `selected path ${bad}` };
  }
  if (remap.length > 0 && input.exclude.length > 0) return { ok: false, field: 'exclude', message: 'exclude cannot be combined with remap' };
  for (const [i, r] of remap.entries()) {
    for (const k of ['from', 'to'] as const) {
      const bad = pathProblem(r[k]);
      if (bad) return { ok: false, field: `remap.${i}.${k}`, message: `remap ${k} ${bad}` };
    }
    if (r.from === '/') return { ok: false, field: `remap.${i}.from`, message: 'remapping / is an alternate-directory restore: choose "alternate directory" instead' };
    if (r.to === '/') return { ok: false, field: `remap.${i}.to`, message: 'remap to / is not allowed' };
    if (r.from === r.to) return { ok: false, field: `remap.${i}.to`, message: 'remap to is the same as from' };
    const other = remap.findIndex((o, j) => j !== i && (isUnder(r.from, o.from) || isUnder(o.from, r.from)));
    if (other >= 0) return { ok: false, field: `remap.${i}.from`, message: `remap rules must not overlap (${r.from} and ${remap[other]?.from ?? ''})` };
  }
  const parts: RestorePart[] = [];
  for (const [i, r] of remap.entries()) {
    let inc: string[];
    if (include.length === 0) inc = [r.from];
    else {
      inc = include.filter((p) => isUnder(p, r.from));
      if (inc.length === 0) {
        const outer = include.find((p) => isUnder(r.from, p));
        return {
          ok: false, field: `remap.${i}.from`,
          message: outer
            ? `remap ${r.from} lies inside the selected ${outer}: select ${r.from} itself (restic 0.14 cannot exclude inside an include)`
            : `remap ${r.from} matches no selected path`,
        };
      }
    }
    const stage = normalisePath(staging(r.to, i));
    parts.push({ target: stage, include: inc, exclude: [], move: { from: normalisePath(`${stage}${r.from}`), to: r.to } });
  }
  const rest = include.filter((p) => !remap.some((r) => isUnder(p, r.from)));
  for (const [i, r] of remap.entries()) {
    const outer = rest.find((p) => isUnder(r.from, p));
    if (outer) return { ok: false, field: `remap.${i}.from`, message: `remap ${r.from} lies inside the selected ${outer}: select ${r.from} itself (restic 0.14 cannot exclude inside an include)` };
  }
  if (include.length === 0) parts.unshift({ target, include: [], exclude: [...input.exclude, ...remap.map((r) => r.from)] });
  else if (rest.length > 0) parts.unshift({ target, include: rest, exclude: [...input.exclude] });
  return { ok: true, parts };
}
