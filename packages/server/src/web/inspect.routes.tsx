import type { Hono } from 'hono';
import { ForgetPreviewRequest, SnapshotDiffQuery } from '@restic-manager/protocol';
import type { AppEnv } from '../http/auth.middleware.js';
import { DomainError } from '../services/errors.js';
import { nest, parseForm } from './forms.js';
import { DiffPanel, ForgetPreviewTable, InspectError } from './pages/inspect.js';
import { policyOf } from './schedule.routes.js';
import type { WebCtx } from './web-context.js';
import { formOf, guard } from './web-context.js';

const DIFF_PAGE = 100;

/** Issue 16 partials (operator+): the restore page's "What changed" and the schedule editor's retention preview. */
export function mountInspectUi(app: Hono<AppEnv>, w: WebCtx): void {
  const s = w.services;

  app.get('/partials/hosts/:id/snapshots/:snap/diff', guard('operator'), async (c) => {
    const hostId = c.req.param('id');
    try {
      const q = parseForm(SnapshotDiffQuery, { against: c.req.query('against') || 'parent', offset: c.req.query('offset') ?? '0', limit: String(DIFF_PAGE) });
      const view = await s.diff.diff(hostId, c.req.param('snap'), q.against, q.limit, q.offset);
      const others = (await s.fleet.snapshots(hostId, {}, 50, 0)).items;
      return c.html(<DiffPanel hostId={hostId} against={q.against} view={view} others={others} />);
    } catch (e) {
      if (e instanceof DomainError) return c.html(<InspectError message={e.message} />);
      throw e;
    }
  });

  // Inside the schedule editor's form: reads only its retention fields. A bad field is a 400 that
  // marks the field; the agent's answer (or its absence) is shown in place.
  app.post('/hosts/:id/forget/preview', guard('operator'), async (c) => {
    const f = nest(await formOf(c));
    const policy = policyOf(f.retention_policy);
    if (Object.keys(policy).length === 0) throw new DomainError('validation_failed', 'enter at least one keep rule to preview', { 'retention_policy.keep_last': 'enter at least one keep rule' });
    let body: ForgetPreviewRequest;
    try {
      body = parseForm(ForgetPreviewRequest, { policy });
    } catch (e) {
      if (!(e instanceof DomainError) || !e.fields) throw e;
      const rename = (k: string): string => k.replace(/^policy\b/, 'retention_policy');
      throw new DomainError(e.code, rename(e.message), Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [rename(k), v])));
    }
    try {
      return c.html(<ForgetPreviewTable view={await s.forgetPreview.preview(c.req.param('id'), body)} />);
    } catch (e) {
      if (e instanceof DomainError) return c.html(<InspectError message={e.message} />);
      throw e;
    }
  });
}
