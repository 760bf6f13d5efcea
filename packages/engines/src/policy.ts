import type { RetentionPolicy } from './types.js';

/**
 * Retention policy -> `--keep-*` flags. rustic (0.11.4) differs in two places: tags are
 * `--keep-tags` (each flag one tag list, as restic's `--keep-tag`), and `--keep-within` takes a
 * jiff "friendly" duration where `m` means minutes, so restic's `1y6m` becomes `1y6mo`.
 */
export function policyArgs(p: RetentionPolicy, engine: 'restic' | 'rustic' = 'restic'): string[] {
  const args: string[] = [];
  const n = (flag: string, v: number | undefined): void => {
    if (v !== undefined && v > 0) args.push(flag, String(Math.floor(v)));
  };
  n('--keep-last', p.keepLast);
  n('--keep-hourly', p.keepHourly);
  n('--keep-daily', p.keepDaily);
  n('--keep-weekly', p.keepWeekly);
  n('--keep-monthly', p.keepMonthly);
  n('--keep-yearly', p.keepYearly);
  if (p.keepWithin) args.push('--keep-within', engine === 'rustic' ? rusticDuration(p.keepWithin) : p.keepWithin);
  for (const t of p.keepTags ?? []) args.push(engine === 'rustic' ? '--keep-tags' : '--keep-tag', t);
  return args;
}

/** A policy with no keep rule would make forget remove everything (or nothing, depending on the engine). */
export function policyIsEmpty(p: RetentionPolicy): boolean {
  return policyArgs(p).length === 0;
}

/**
 * restic's `2y5m7d3h` (units in any order, `m` = months) -> rustic's `2y5mo7d3h` (largest unit
 * first, each once). Text that is not such a duration is passed through for rustic to refuse.
 */
export function rusticDuration(restic: string): string {
  if (!/^(\d+[ymdh])+$/.test(restic)) return restic;
  const sum: Record<string, number> = { y: 0, m: 0, d: 0, h: 0 };
  for (const [, n, unit] of restic.matchAll(/(\d+)([ymdh])/g)) sum[unit ?? 'h'] = (sum[unit ?? 'h'] ?? 0) + Number(n);
  const out = (['y', 'm', 'd', 'h'] as const).filter((u) => sum[u]).map((u) => `${sum[u]}${u === 'm' ? 'mo' : u}`).join('');
  return out || '0h';
}
