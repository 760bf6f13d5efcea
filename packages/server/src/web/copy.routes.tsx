import type { Hono } from 'hono';
import { CreateCopyPolicyRequest, UpdateCopyPolicyRequest } from '@restic-manager/protocol';
import type { AppEnv } from '../http/auth.middleware.js';
import { nest, opt, parseForm } from './forms.js';
import { CopiesPage, CopyPolicyPage } from './pages/copies.js';
import type { WebCtx } from './web-context.js';
import { actorOf, formOf, guard, redirectTo, viewerOf } from './web-context.js';

const toast = (message: string): string => JSON.stringify({ 'rm:toast': { message, kind: 'ok' } });

/** The add/edit form as a copy policy request input (empty host = all hosts, empty cron = none). */
export function copyInputFromForm(f: Record<string, unknown>, editing: boolean): Record<string, unknown> {
  return {
    ...(editing ? {} : { source_repository_id: opt(f.source_repository_id) ?? '' }),
    target_repository_id: opt(f.target_repository_id) ?? '',
    host_id: opt(f.host_id) ?? null,
    mode: opt(f.mode) ?? 'after_backup',
    cron_expr: opt(f.cron_expr) ?? null,
    time_zone: opt(f.time_zone) ?? 'UTC',
    enabled: f.enabled === 'on' || f.enabled === 'true',
  };
}

/** Copies pages and form actions: the same services as /api/copy-policies. */
export function mountCopyUi(app: Hono<AppEnv>, w: WebCtx): void {
  const s = w.services.copies;
  const choices = async () => {
    const repos = (await w.services.repositories.list(500, 0)).items.map((r) => ({ id: r.id, name: r.name, engine: r.engine, backend: r.backend }));
    const hosts = (await w.services.hosts.list({}, 500, 0)).items.map((h) => ({ id: h.id, name: h.name }));
    return { repos, hosts };
  };
  app.get('/copies', guard(), async (c) => {
    const page = await s.list(500, 0);
    return c.html(<CopiesPage viewer={viewerOf(c)} policies={page.items} {...await choices()} />);
  });
  app.get('/copies/:id', guard('admin'), async (c) => {
    const policy = await s.get(c.req.param('id'));
    return c.html(<CopyPolicyPage viewer={viewerOf(c)} policy={policy} {...await choices()} />);
  });
  app.post('/copies', guard('admin'), async (c) => {
    const input = parseForm(CreateCopyPolicyRequest, copyInputFromForm(nest(await formOf(c)), false));
    await s.create(actorOf(c), input);
    c.header('HX-Trigger', toast('Copy policy added.'));
    return redirectTo(c, '/copies');
  });
  app.post('/copies/:id', guard('admin'), async (c) => {
    const input = parseForm(UpdateCopyPolicyRequest, copyInputFromForm(nest(await formOf(c)), true));
    await s.update(actorOf(c), c.req.param('id'), input);
    c.header('HX-Trigger', toast('Copy policy saved.'));
    return redirectTo(c, '/copies');
  });
  app.delete('/copies/:id', guard('admin'), async (c) => {
    await s.delete(actorOf(c), c.req.param('id'));
    c.header('HX-Trigger', toast('Copy policy deleted.'));
    return redirectTo(c, '/copies');
  });
  app.post('/copies/:id/run', guard('operator'), async (c) => {
    const r = await s.run(actorOf(c), c.req.param('id'));
    c.header('HX-Trigger', toast(`${r.job_ids.length} copy job(s) queued.`));
    return c.body(null, 204);
  });
}
