/**
 * The `--read-data` arguments of a rustic check for a restic-style `--read-data-subset`.
 *
 * rustic 0.11.4 (rustic_core 0.13 `ReadSubsetOption`) draws packs for `x%` (and a size) at random
 * and keeps one only while the bytes still allowed exceed its size: the selection stays strictly
 * under the budget, so a repository whose first drawn pack is bigger than x% of it — every small
 * repository, and 100% of a one-pack one — is checked without reading a single pack, exit 0.
 * restic reads at least one pack for any percentage. So a percentage is run as rustic's id
 * subset `n/m` with m = ⌊100 / x⌋ (at least x% of the packs in expectation) and n drawn at
 * random, like restic's random x%; 100% (m = 1) is plain `--read-data`. `n/t` subsets (the
 * rotating ones check schedules use) pass through; so does a size, with rustic's own rule.
 */
export function rusticReadDataArgs(subset: string | undefined, readData: boolean | undefined, random: () => number = Math.random): string[] {
  if (!subset) return readData ? ['--read-data'] : [];
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(subset);
  if (!pct) return ['--read-data', '--read-data-subset', subset];
  const p = Number(pct[1]);
  if (!(p > 0)) return ['--read-data', '--read-data-subset', subset]; // rustic's own error for 0%
  const m = Math.max(1, Math.floor(100 / p));
  if (m === 1) return ['--read-data'];
  const n = 1 + Math.min(m - 1, Math.floor(random() * m));
  return ['--read-data', '--read-data-subset', `${n}/${m}`];
}
