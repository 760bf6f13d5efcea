import type { RetentionPolicy } from './types.js';

/** Retention policy -> `--keep-*` flags (same names in restic and rustic). */
export function policyArgs(p: RetentionPolicy): string[] {
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
  if (p.keepWithin) args.push('--keep-within', p.keepWithin);
  for (const t of p.keepTags ?? []) args.push('--keep-tag', t);
  return args;
}

/** A policy with no keep rule would make forget remove everything (or nothing, depending on the engine). */
export function policyIsEmpty(p: RetentionPolicy): boolean {
  return policyArgs(p).length === 0;
}
