import { WEEKDAYS } from '@restic-manager/protocol';
import { DomainError } from '../services/errors.js';
import { opt } from './forms.js';

/* Issue 21: the window fields of a form (pages/schedule-windows.tsx) as a WindowSet body. Rows
   left empty are dropped; whatever is typed is passed on, so the schema and the window check
   name the bad field. */

/** "mon-fri", "sat,sun", "mon-wed fri" -> day names; unknown words are kept (the server names them). */
export function daysOf(text: string): string[] {
  const out: string[] = [];
  for (const part of text.toLowerCase().split(/[\s,]+/).filter(Boolean)) {
    const m = /^([a-z]{3})-([a-z]{3})$/.exec(part);
    const a = m ? WEEKDAYS.indexOf(m[1] as never) : -1;
    const b = m ? WEEKDAYS.indexOf(m[2] as never) : -1;
    if (a >= 0 && b >= 0) {
      for (let i = a; ; i = (i + 1) % 7) {
        out.push(WEEKDAYS[i]!);
        if (i === b) break;
      }
    } else out.push(part.slice(0, 10));
  }
  return [...new Set(out)];
}

/** The window set of `f` (a nested form object), or null when every row and the blackouts are empty. */
export function windowsFromForm(raw: unknown): { windows: Record<string, unknown>[]; blackouts: Record<string, unknown>[] } | null {
  const f = (raw ?? {}) as { windows?: Record<string, Record<string, unknown>>; blackouts?: unknown };
  const windows = Object.keys(f.windows ?? {}).sort().flatMap((k) => {
    const w = f.windows![k] ?? {};
    const days = opt(w.days);
    const start = opt(w.start);
    const end = opt(w.end);
    if (!days && !start && !end) return [];
    return [{ days: daysOf(days ?? ''), start: start ?? '', end: end ?? '', at_end: w.at_end === 'stop' ? 'stop' : 'finish' }];
  });
  const blackouts = (typeof f.blackouts === 'string' ? f.blackouts.split('\n') : []).map((l) => l.trim()).filter(Boolean).map((l) => {
    const [from, to] = l.split('..').map((x) => x.trim());
    return { from: from ?? '', ...(to ? { to } : {}) };
  });
  return windows.length || blackouts.length ? { windows, blackouts } : null;
}

/**
 * A form shows all blackout dates in one textarea (`<prefix>.blackouts`): an error about one of
 * them (`windows.blackouts.2.from`) is also put under that textarea's name, so it shows beside it.
 */
export async function withBlackoutField<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof DomainError && e.fields) {
      const key = Object.keys(e.fields).find((k) => /^windows\.blackouts\.\d+\./.test(k));
      if (key) throw new DomainError(e.code, e.message, { ...e.fields, 'windows.blackouts': e.fields[key]! });
    }
    throw e;
  }
}
