import { Cron } from 'croner';

/**
 * When a schedule should next have fired after `since` (its last run, or when it was last
 * saved), in its time zone; null for an invalid expression or one that never fires again.
 */
export function nextFireAfter(cronExpr: string, timeZone: string | null, since: Date): Date | null {
  try {
    return new Cron(cronExpr, { paused: true, ...(timeZone ? { timezone: timeZone } : {}) }).nextRun(since);
  } catch {
    return null;
  }
}

/**
 * A schedule is overdue when the first fire time after its last run (or its last edit) lies
 * more than `graceMs` in the past and no job of it is queued or running: the host was asleep or
 * offline at that time, or its agent lost the schedule. Returns the missed fire time, or null.
 */
export function overdueSince(s: { cron_expr: string; time_zone: string | null; updated_at: string }, lastRun: string | undefined, busy: boolean, now: number, graceMs: number): Date | null {
  if (busy) return null;
  const ref = lastRun && lastRun > s.updated_at ? lastRun : s.updated_at;
  const next = nextFireAfter(s.cron_expr, s.time_zone, new Date(ref));
  return next && next.getTime() + graceMs < now ? next : null;
}

/** The next `n` fire times of an expression (for the editor preview). Throws on a bad expression. */
export function nextRuns(cronExpr: string, timeZone: string | null, n: number, from?: Date): Date[] {
  return new Cron(cronExpr, { paused: true, ...(timeZone ? { timezone: timeZone } : {}) }).nextRuns(n, from);
}
