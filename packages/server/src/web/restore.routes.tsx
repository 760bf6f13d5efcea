import type { Hono } from 'hono';
import { DbRestoreRequest, DownloadQuery, RestoreRequest } from '@restic-manager/protocol';
import { downloadResponse } from '../http/download.routes.js';
import { STATUS } from '../http/errors.js';
import type { AppEnv } from '../http/auth.middleware.js';
import { DomainError } from '../services/errors.js';
import { nest, numOrRaw, opt, parseForm } from './forms.js';
import { RestoreConfirm } from './pages/restore-confirm.js';
import { DownloadRefused, RestorePage, TreeError, TreeItems } from './pages/restore.js';
import type { WebCtx } from './web-context.js';
import { scopeOf } from './scope.js';
import { actorOf, formOf, guard, redirectTo, viewerOf } from './web-context.js';

const LS_PAGE = 200;
const MAX_ROWS = 32;

const all = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);

/**
 * The wizard's form as a RestoreRequest. Remap rows are positional inputs (`remap.3.from`); empty
 * rows are skipped, and a field error of the compacted list is renamed back to its input.
 */
function restoreBodyOf(f: Record<string, unknown>, sourceHostId: string): { targetHostId: string; body: RestoreRequest } {
  const one = (k: string): string | undefined => opt(all(f[k])[0]);
  const typed = (one('include_text') ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  const include = [...new Set([...all(f.include).filter(Boolean), ...typed])];
  const rows: number[] = [];
  const remap: { from: string; to: string }[] = [];
  for (let i = 0; i < MAX_ROWS; i++) {
    const from = one(`remap.${i}.from`);
    const to = one(`remap.${i}.to`);
    if (from === undefined && to === undefined) continue;
    rows.push(i);
    remap.push({ from: from ?? '', to: to ?? '' });
  }
  const restoreTo = one('restore_to') === 'original' ? 'original' : 'directory';
  const raw = {
    source_host_id: sourceHostId, snapshot_id: one('snapshot_id') ?? '', restore_to: restoreTo,
    ...(restoreTo === 'directory' ? { target: one('target') } : {}),
    include, remap, verify: one('verify') === 'true',
    ...(one('share_source_credential') === 'true' ? { share_source_credential: true } : {}),
  };
  try {
    return { targetHostId: one('target_host_id') ?? sourceHostId, body: parseForm(RestoreRequest, raw) };
  } catch (e) {
    throw renameRows(e, rows);
  }
}

function renameRows(e: unknown, rows: number[]): unknown {
  if (!(e instanceof DomainError) || !e.fields) return e;
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.fields)) fields[k.replace(/^remap\.(\d+)/, (_m, n: string) => `remap.${rows[Number(n)] ?? n}`)] = v;
  return new DomainError(e.code, e.message.replace(/^remap\.(\d+)/, (_m, n: string) => `remap.${rows[Number(n)] ?? n}`), fields);
}

/** The "Restore into database" form as a DbRestoreRequest: empty inputs are left out, the port a number when it is one. */
function dbRestoreBodyOf(f: Record<string, unknown>) {
  const n = nest(f);
  const raw = (n.connection ?? {}) as Record<string, unknown>;
  const connection: Record<string, unknown> = {};
  for (const k of ['engine', 'host', 'user', 'container', 'run_as', 'password_env', 'path'] as const) {
    const v = opt(raw[k]);
    if (v !== undefined) connection[k] = v;
  }
  const port = numOrRaw(raw.port);
  if (port !== undefined) connection.port = port;
  if (typeof raw.password === 'string' && raw.password !== '') connection.password = raw.password;
  const database = opt(n.database);
  return parseForm(DbRestoreRequest, { snapshot_id: opt(n.snapshot_id) ?? '', connection, ...(database ? { database } : {}), create: n.create === 'true' });
}

/** Restore wizard pages (operator+): the wizard, its lazy tree, review and submit. */
export function mountRestoreUi(app: Hono<AppEnv>, w: WebCtx): void {
  const s = w.services;

  app.get('/hosts/:id/restore', guard('operator'), async (c) => {
    const id = c.req.param('id');
    const host = await s.hosts.get(id);
    const snaps = await s.fleet.snapshots(id, {}, 50, 0);
    const want = c.req.query('snapshot');
    const chosen = want ? snaps.items.find((x) => x.id === want || x.short_id === want) ?? null : null;
    if (want && !chosen) throw new DomainError('not_found', `snapshot ${want} is not among the 50 newest snapshots of host ${host.name}`);
    // The cross-host target picker lists only hosts in the user's scope (web/scope.ts refuses the others).
    const hosts = (await s.hosts.list({ anyTag: scopeOf(c) ?? undefined }, 500, 0)).items.filter((h) => h.enrolled_at);
    return c.html(<RestorePage viewer={viewerOf(c)} host={host} snapshots={snaps.items} snapshot={chosen} hosts={hosts} />);
  });

  app.get('/partials/restore/:id/:snap/ls', guard('operator'), async (c) => {
    const path = c.req.query('path') || '/';
    const offset = Math.max(0, Number(c.req.query('offset') ?? 0) || 0);
    try {
      const r = await s.browse.ls(c.req.param('id'), c.req.param('snap'), path, LS_PAGE, offset);
      return c.html(<TreeItems hostId={c.req.param('id')} snapshotId={r.snapshot_id} path={r.path} entries={r.entries} offset={offset} limit={LS_PAGE} hasMore={r.has_more} />);
    } catch (e) {
      if (e instanceof DomainError) return c.html(<TreeError message={e.message} />);
      throw e;
    }
  });

  // Download from the snapshot browser: streamed like GET /api/hosts/:id/snapshots/:snapshot_id/download; a refusal is a page.
  app.get('/hosts/:id/snapshots/:snap/download', guard('operator'), async (c) => {
    const q = DownloadQuery.safeParse(c.req.query());
    const path = q.success ? q.data.path : (c.req.query('path') ?? '');
    try {
      if (!q.success) throw new DomainError('validation_failed', 'path (absolute) and format (raw, tar or zip) are required');
      return downloadResponse(await s.downloads.open(actorOf(c), c.req.param('id'), c.req.param('snap'), q.data.path, q.data.format));
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      return c.html(<DownloadRefused viewer={viewerOf(c)} hostId={c.req.param('id')} snapshotId={c.req.param('snap')} path={path.slice(0, 4096)} message={e.message} />, STATUS[e.code]);
    }
  });

  app.post('/hosts/:id/restore/review', guard('operator'), async (c) => {
    const { targetHostId, body } = restoreBodyOf(await formOf(c, { all: true }), c.req.param('id'));
    const preview = await s.restore.preview(targetHostId, body);
    return c.html(<RestoreConfirm p={preview} admin={viewerOf(c).role === 'admin'} />);
  });

  app.post('/hosts/:id/restore/database', guard('operator'), async (c) => {
    const { job } = await s.dbRestore.submit(actorOf(c), c.req.param('id'), dbRestoreBodyOf(await formOf(c, { all: true })));
    return redirectTo(c, `/jobs/${job.id}`);
  });

  app.post('/hosts/:id/restore', guard('operator'), async (c) => {
    const f = await formOf(c, { all: true });
    const { body } = restoreBodyOf(f, opt(all(f.source_host_id)[0]) ?? c.req.param('id'));
    const { job } = await s.restore.submit(actorOf(c), c.req.param('id'), body);
    return redirectTo(c, `/jobs/${job.id}`);
  });
}
