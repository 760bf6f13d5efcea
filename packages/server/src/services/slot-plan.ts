import type { SlotRow } from '../repositories/slot.repository.js';

/*
 * The queue arithmetic of concurrency caps (issue 21), pure: which waiting jobs get a slot now,
 * and how many slot releases each waiting job is behind.
 */

/** Cap key → max_jobs, for the caps that exist. */
export type Limits = ReadonlyMap<string, number>;

export function keysOf(row: Pick<SlotRow, 'cap_keys'>): string[] {
  try {
    const v = JSON.parse(row.cap_keys) as unknown;
    return Array.isArray(v) ? v.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return [];
  }
}

/** How many slots of each capped key are held. */
export function holdingCounts(rows: readonly SlotRow[], limits: Limits): Map<string, number> {
  const held = new Map<string, number>();
  for (const r of rows) {
    if (r.state !== 'holding') continue;
    for (const k of keysOf(r)) if (limits.has(k)) held.set(k, (held.get(k) ?? 0) + 1);
  }
  return held;
}

/**
 * The waiting jobs to grant now, in queue order. A job is granted when every cap it falls under
 * has a free slot and no earlier job is still waiting for a slot of one of those caps (first
 * come, first served per cap). A job held back by a full cap holds back the later jobs of that
 * cap only: its other caps' free slots go to the next in line, which it could not use anyway.
 * A job that `eligible` rejects (its agent is offline) keeps its place without holding back the
 * jobs behind it. A job under no existing cap is granted.
 */
export function planGrants(rows: readonly SlotRow[], limits: Limits, eligible: (row: SlotRow) => boolean): SlotRow[] {
  const held = holdingCounts(rows, limits);
  const blocked = new Set<string>();
  const out: SlotRow[] = [];
  for (const r of rows) {
    if (r.state !== 'waiting' || !eligible(r)) continue;
    const caps = keysOf(r).filter((k) => limits.has(k));
    if (caps.every((k) => !blocked.has(k) && (held.get(k) ?? 0) < limits.get(k)!)) {
      for (const k of caps) held.set(k, (held.get(k) ?? 0) + 1);
      out.push(r);
    } else {
      for (const k of caps) if (blocked.has(k) || (held.get(k) ?? 0) >= limits.get(k)!) blocked.add(k);
    }
  }
  return out;
}

/**
 * Per waiting job: the slot releases it is behind under cap `key` (the n-th waiting job of a cap
 * of `max` with `held` slots held is behind n + held − max + 1 of them, at least 0).
 */
export function aheadIn(rows: readonly SlotRow[], key: string, max: number): Map<string, number> {
  const held = rows.filter((r) => r.state === 'holding' && keysOf(r).includes(key)).length;
  const out = new Map<string, number>();
  let n = 0;
  for (const r of rows) {
    if (r.state !== 'waiting' || !keysOf(r).includes(key)) continue;
    out.set(r.job_id, Math.max(0, n + held - max + 1));
    n++;
  }
  return out;
}

/** cap rows → Limits. */
export function limitsOf(caps: readonly { scope: string; cap_key: string; max_jobs: number }[]): Map<string, number> {
  return new Map(caps.map((c) => [c.scope === 'fleet' ? 'fleet' : `${c.scope}:${c.cap_key}`, c.max_jobs]));
}
