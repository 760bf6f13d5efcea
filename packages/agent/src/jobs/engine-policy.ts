import type { RetentionPolicy as EnginePolicy } from '@restic-manager/engines';
import type { RetentionPolicy } from '@restic-manager/protocol';

/** The protocol's snake_case policy as the engine's. */
export function enginePolicy(p: RetentionPolicy): EnginePolicy {
  return {
    ...(p.keep_last !== undefined ? { keepLast: p.keep_last } : {}),
    ...(p.keep_hourly !== undefined ? { keepHourly: p.keep_hourly } : {}),
    ...(p.keep_daily !== undefined ? { keepDaily: p.keep_daily } : {}),
    ...(p.keep_weekly !== undefined ? { keepWeekly: p.keep_weekly } : {}),
    ...(p.keep_monthly !== undefined ? { keepMonthly: p.keep_monthly } : {}),
    ...(p.keep_yearly !== undefined ? { keepYearly: p.keep_yearly } : {}),
    ...(p.keep_within !== undefined ? { keepWithin: p.keep_within } : {}),
    ...(p.keep_tag !== undefined ? { keepTags: p.keep_tag } : {}),
  };
}
