import type { Hono } from 'hono';
import { CreateRepositoryRequest, UpdateRepositoryRequest } from '@restic-manager/protocol';
import type { AppEnv } from '../http/auth.middleware.js';
import { maintenanceCredentialForm, nest, opt, parseForm } from './forms.js';
import { CreatedRepository, RepositoriesPage, RepositoryPage, TestResult } from './pages/repositories.js';
import { LedgerSection } from './pages/repository-ledger.js';
import { MaintenanceCredentialCard } from './pages/schedule-editor.js';
import { backendOfForm, credentialsFromForm } from './repository-form.js';
import type { WebCtx } from './web-context.js';
import { actorOf, formOf, guard, redirectTo, viewerOf } from './web-context.js';

const toast = (message: string): string => JSON.stringify({ 'rm:toast': { message, kind: 'ok' } });
const checked = (v: unknown): boolean => v === 'on' || v === 'true';

/** The add form as a CreateRepositoryRequest input: only the URL's backend's credential fields. */
export function createInputFromForm(f: Record<string, unknown>): unknown {
  const backend = backendOfForm(f.url);
  const groups = (f.credentials ?? {}) as Record<string, unknown>;
  const credentials = backend ? credentialsFromForm(backend, groups[backend]) : undefined;
  return {
    name: opt(f.name) ?? '', url: opt(f.url) ?? '', engine: opt(f.engine) ?? 'restic',
    ...(opt(f.password) ? { password: f.password } : {}),
    ...(credentials && (backend !== 'rest' || Object.keys(credentials).length > 1) ? { credentials } : {}),
    ...(opt(f.tls_ca_pem) ? { tls_ca_pem: (f.tls_ca_pem as string).replace(/\r\n/g, '\n') } : {}),
    ...(checked(f.append_only) ? { append_only: true } : {}),
    import: checked(f.import),
  };
}

/** The edit form as an UpdateRepositoryRequest input; empty secret inputs are filled from the stored ones by the service. */
export function updateInputFromForm(f: Record<string, unknown>, backend: Parameters<typeof credentialsFromForm>[0]): Record<string, unknown> {
  const credentials = credentialsFromForm(backend, f.credentials);
  return {
    ...(opt(f.name) ? { name: opt(f.name) } : {}),
    ...(credentials ? { credentials } : {}),
    ...(opt(f.tls_ca_pem) ? { tls_ca_pem: (f.tls_ca_pem as string).replace(/\r\n/g, '\n') } : {}),
    append_only: checked(f.append_only),
  };
}

/** Repositories pages and form actions: the same service as /api/repositories. */
export function mountRepositoryUi(app: Hono<AppEnv>, w: WebCtx): void {
  const s = w.services.repositories;
  app.get('/repositories', guard(), async (c) => {
    const offset = Math.max(0, Number(c.req.query('offset') ?? 0) || 0);
    const page = await s.list(100, offset);
    const names = await w.read.hostNames(page.items.flatMap((r) => r.host_ids));
    const items = page.items.map((r) => ({ ...r, hosts: r.host_ids.map((id) => ({ id, name: names.get(id) ?? id })) }));
    return c.html(<RepositoriesPage viewer={viewerOf(c)} page={{ ...page, items }} />);
  });
  app.get('/repositories/:id', guard(), async (c) => {
    const r = await s.get(c.req.param('id'));
    const names = await w.read.hostNames(r.host_ids);
    const offset = Math.max(0, Number(c.req.query('ledger_offset') ?? 0) || 0);
    const ledger = await w.services.ledger.list(r.id, undefined, 50, offset);
    // A REST repository may be append-only: its maintenance credential (for forget/prune) is set here.
    const maintenance = r.backend === 'rest'
      ? <MaintenanceCredentialCard action={`/repositories/${r.id}/maintenance-credential`} viewer={viewerOf(c)} status={await w.services.maintenance.repositoryCredentialStatus(r.id)} subject="the hosts' append-only credential" />
      : undefined;
    return c.html(<RepositoryPage viewer={viewerOf(c)} repository={r} hosts={r.host_ids.map((id) => ({ id, name: names.get(id) ?? id }))}
      ledger={<LedgerSection repositoryId={r.id} page={ledger} />} maintenance={maintenance} />);
  });
  app.post('/repositories/:id/maintenance-credential', guard('admin'), async (c) => {
    const id = c.req.param('id');
    await w.services.maintenance.setRepositoryCredential(actorOf(c), id, maintenanceCredentialForm(await formOf(c)));
    c.header('HX-Trigger', toast('Maintenance credential saved (encrypted).'));
    return redirectTo(c, `/repositories/${id}`);
  });
  app.post('/repositories/:id/ledger/acknowledge', guard('admin'), async (c) => {
    const id = c.req.param('id');
    const r = await w.services.ledger.acknowledge(actorOf(c), id);
    c.header('HX-Trigger', toast(`Acknowledged (${r.acknowledged_snapshots} vanished snapshot(s)); forget and prune may run again.`));
    return redirectTo(c, `/repositories/${id}`);
  });
  app.post('/repositories', guard('admin'), async (c) => {
    const input = parseForm(CreateRepositoryRequest, createInputFromForm(nest(await formOf(c))));
    const r = await s.create(actorOf(c), input);
    c.header('HX-Trigger', toast('Repository added.'));
    return c.html(<CreatedRepository repository={r.repository} generatedPassword={r.generated_password} />);
  });
  app.post('/repositories/:id', guard('admin'), async (c) => {
    const id = c.req.param('id');
    const cur = await s.get(id);
    const raw = updateInputFromForm(nest(await formOf(c)), cur.backend);
    // Secrets are checked after the stored ones fill the empty inputs: validate the rest here.
    const { credentials, ...rest } = raw;
    const input = parseForm(UpdateRepositoryRequest.omit({ credentials: true }), rest);
    await s.update(actorOf(c), id, { ...input, ...(credentials ? { credentials: credentials as Record<string, unknown> } : {}) }, { keepSecrets: true });
    c.header('HX-Trigger', toast('Repository saved.'));
    return redirectTo(c, `/repositories/${id}`);
  });
  app.delete('/repositories/:id', guard('admin'), async (c) => {
    await s.delete(actorOf(c), c.req.param('id'));
    c.header('HX-Trigger', toast('Repository removed.'));
    return redirectTo(c, '/repositories');
  });
  app.post('/repositories/:id/test', guard('admin'), async (c) => {
    const f = nest(await formOf(c));
    const result = await s.test(actorOf(c), c.req.param('id'), opt(f.host_id));
    return c.html(<TestResult result={result} />);
  });
  app.post('/hosts/:id/repositories', guard('admin'), async (c) => {
    const f = nest(await formOf(c));
    const hostId = c.req.param('id');
    await s.link(actorOf(c), hostId, opt(f.repo_id) ?? '', checked(f.primary));
    c.header('HX-Trigger', toast('Repository linked.'));
    return redirectTo(c, `/hosts/${hostId}/repo`);
  });
  app.delete('/hosts/:id/repositories/:repo_id', guard('admin'), async (c) => {
    const hostId = c.req.param('id');
    await s.unlink(actorOf(c), hostId, c.req.param('repo_id'));
    c.header('HX-Trigger', toast('Repository unlinked.'));
    return redirectTo(c, `/hosts/${hostId}/repo`);
  });
}
