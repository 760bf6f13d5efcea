import type { Hono } from 'hono';
import type { AppEnv } from '../http/auth.middleware.js';
import { DomainError } from '../services/errors.js';
import { CapsCard, QueuePage } from './pages/queue.js';
import type { WebCtx } from './web-context.js';
import { actorOf, formOf, guard, viewerOf } from './web-context.js';

/**
 * The caps textarea ("fleet 4", "tag:db 2", "backend:s3:host/bucket 1", one per line) as the REST
 * request (PUT /api/caps). Nothing is checked here: the service's schema names the field.
 */
export function capsFromForm(text: unknown): { caps: { scope: string; key: string; max_jobs: unknown }[] } {
  const lines = (typeof text === 'string' ? text : '').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return {
    caps: lines.slice(0, 1000).map((l) => {
      const m = /^(\S+)\s+(\S+)$/.exec(l);
      const spec = m?.[1] ?? l;
      const n = m?.[2] ?? '';
      const colon = spec.indexOf(':');
      const scope = spec === 'fleet' ? 'fleet' : colon > 0 ? spec.slice(0, colon) : spec;
      const key = spec === 'fleet' || colon < 0 ? '' : spec.slice(colon + 1);
      return { scope, key, max_jobs: /^-?\d+(\.\d+)?$/.test(n) ? Number(n) : n };
    }),
  };
}

/** `caps.2.max_jobs: …` → `line 3: max_jobs: …` (the form's own words). */
function asLines(e: unknown): unknown {
  if (!(e instanceof DomainError) || e.code !== 'validation_failed') return e;
  const m = /^caps\.(\d+)\.?(\w*): (.*)$/s.exec(e.message);
  if (!m) return e;
  return new DomainError('validation_failed', `line ${Number(m[1]) + 1}: ${m[2] ? `${m[2]}: ` : ''}${m[3] ?? ''}`, { caps: e.message });
}

/** The queue page and the caps card's action: the same service calls as GET /api/queue and PUT /api/caps. */
export function mountQueueUi(app: Hono<AppEnv>, w: WebCtx): void {
  const s = w.services;
  app.get('/queue', guard(), async (c) => c.html(<QueuePage viewer={viewerOf(c)} q={await s.caps.queue()} caps={await s.caps.list()} />));
  app.put('/settings/caps', guard('admin'), async (c) => {
    const f = await formOf(c);
    await s.caps.put(actorOf(c), capsFromForm(f.caps)).catch((e: unknown) => {
      throw asLines(e);
    });
    c.header('HX-Trigger', JSON.stringify({ 'rm:toast': { message: 'Concurrency caps saved.', kind: 'ok' } }));
    return c.html(<CapsCard caps={await s.caps.list()} admin />);
  });
}
