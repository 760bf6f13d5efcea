import type { WindowSet, WindowSetInput } from '@restic-manager/protocol';
import { nextAllowedStart, stopDeadline, wallClock, windowSetProblem } from '@restic-manager/protocol';
import type { HostRow } from '../repositories/host.repository.js';
import type { ScheduleRow } from '../repositories/schedule.repository.js';
import type { Repositories } from './context.js';
import { DomainError } from './errors.js';

/**
 * Backup windows on the server (issue 21; the maths are the protocol's windows.ts): checking a
 * set when it is saved, and the sets that apply to a schedule (its own, then one per tag of its
 * host that has windows), for the agent's schedule.set and the server-fired schedulers.
 */

/** Refuses a set that never opens or has a malformed field: 400 naming the field under `prefix`. */
export function checkWindowSet(set: WindowSetInput, prefix: string, now: number): void {
  const p = windowSetProblem(set, now);
  if (p) throw new DomainError('validation_failed', `${prefix}.${p.field}: ${p.message}`, { [`${prefix}.${p.field}`]: p.message });
}

/** A stored set (schedules.windows / tag_windows.windows), or null when absent or unreadable. */
export function parseWindowSet(raw: string | null | undefined): WindowSetInput | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as WindowSetInput;
    return Array.isArray(v.windows) && Array.isArray(v.blackouts) ? v : null;
  } catch {
    return null;
  }
}

/** Every window set that applies to a schedule: its own, then its host's tags' (by tag name). */
export async function windowSetsFor(repos: Pick<Repositories, 'tagWindows'>, host: Pick<HostRow, 'tags'> | undefined, rows: readonly Pick<ScheduleRow, 'id' | 'windows'>[]): Promise<Map<string, WindowSet[]>> {
  const tags = host ? (JSON.parse(host.tags) as string[]) : [];
  const tagSets: WindowSet[] = [];
  for (const t of await repos.tagWindows.forTags(tags)) {
    const s = parseWindowSet(t.windows);
    if (s) tagSets.push({ ...s, source: `tag:${t.tag}` });
  }
  const out = new Map<string, WindowSet[]>();
  for (const r of rows) {
    const own = parseWindowSet(r.windows);
    out.set(r.id, [...(own ? [{ ...own, source: 'schedule' }] : []), ...tagSets]);
  }
  return out;
}

/** What the window sets say about a start at `now` in zone `tz` (null = UTC). */
export function windowGate(sets: readonly WindowSet[], tz: string | null, now: number): { startAt: number | null; stopAt: number | null } {
  if (sets.length === 0) return { startAt: now, stopAt: null };
  const clock = wallClock(tz ? { timezone: tz } : { utcOffset: 0 });
  const startAt = nextAllowedStart(sets, clock, now);
  return { startAt, stopAt: startAt === null ? null : stopDeadline(sets, clock, startAt) };
}

/** The gate of one schedule at `now`: its own and its host's tag windows, in its zone (else the host's, else UTC). */
export async function gateForSchedule(repos: Pick<Repositories, 'tagWindows' | 'hosts'>, s: ScheduleRow, now: number): Promise<{ sets: WindowSet[]; startAt: number | null; stopAt: number | null }> {
  const host = await repos.hosts.findById(s.host_id);
  const sets = (await windowSetsFor(repos, host, [s])).get(s.id) ?? [];
  return { sets, ...windowGate(sets, s.time_zone ?? host?.time_zone ?? null, now) };
}

/** The message of a run whose windows never open together. */
export const neverOpens = (sets: readonly WindowSet[]): string => `its backup windows never open together (${sets.map((w) => w.source ?? 'schedule').join(', ')}); nothing was run`;
