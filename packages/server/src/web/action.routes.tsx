import type { Hono } from 'hono';
import { CreateHostRequest, CreateUserRequest, LoginRequest, RestoreDrillRequest, Role, SetHostTagsRequest, SetUserScopeRequest, TotpLoginRequest } from '@restic-manager/protocol';
import { z } from 'zod';
import type { AppEnv } from '../http/auth.middleware.js';
import { clearSessionCookie, setSessionCookie } from '../http/auth.middleware.js';
import { DomainError, TooManyAttemptsError } from '../services/errors.js';
import { safeNext } from '../http/safe-next.js';
import { userView } from '../services/auth.service.js';
import { EnrollmentResultView } from './pages/add-host.js';
import { JobSummary } from './pages/job.js';
import { AlertRow } from './pages/lists.js';
import { LoginPage, TotpPage } from './pages/login.js';
import { OIDC_MESSAGES, isOidcFailure } from '../services/oidc-errors.js';
import { UserRow, UsersCard } from './pages/settings.js';
import { list, nest, opt, parseForm } from './forms.js';
import { runRequestFromForm } from './run-form.js';
import type { WebCtx } from './web-context.js';
import { actorOf, formOf, guard, redirectTo, viewerOf } from './web-context.js';


/** Sign-in/out and every state-changing UI action. Errors are DomainErrors -> JSON -> toast. */
export function mountActions(app: Hono<AppEnv>, w: WebCtx): void {
  const s = w.services;

  const methods = { password: w.signIn.passwordLogin, sso: w.signIn.oidc?.name ?? null };
  app.get('/login', (c) => {
    if (c.get('session')) return c.redirect(safeNext(c.req.query('next')), 302);
    const sso = c.req.query('sso_error');
    const error = isOidcFailure(sso) ? OIDC_MESSAGES[sso] : undefined;
    return c.html(<LoginPage next={safeNext(c.req.query('next'))} methods={methods} error={error} notice={c.req.query('signed_out') ? 'You have signed out.' : undefined} />, error ? 401 : 200);
  });
  app.post('/login', async (c) => {
    const form = await formOf(c);
    const next = safeNext(form.next);
    const parsed = LoginRequest.safeParse({ username: form.username ?? '', password: form.password ?? '' });
    if (!methods.password) return c.html(<LoginPage error="Password sign-in is disabled on this server." next={next} methods={methods} />, 403);
    if (!parsed.success) return c.html(<LoginPage error="Enter a username and a password." next={next} methods={methods} />, 400);
    try {
      const r = await s.auth.login(parsed.data.username, parsed.data.password, c.get('clientIp') ?? '', c.req.header('user-agent') ?? null);
      if ('challenge' in r) return c.html(<TotpPage challenge={r.challenge} next={next} />);
      setSessionCookie(c, r.token, w.cookie);
      return c.redirect(next, 303);
    } catch (e) {
      if (e instanceof TooManyAttemptsError) c.header('Retry-After', String(e.retryAfterS));
      if (e instanceof DomainError && (e.code === 'invalid_credentials' || e.code === 'too_many_attempts')) {
        const msg = e.code === 'invalid_credentials' ? 'Invalid username or password.' : `Too many failed sign-ins. ${e.message.replace(/^too many failed logins; /, '').replace(/^./, (x) => x.toUpperCase())}.`;
        return c.html(<LoginPage error={msg} username={parsed.data.username} next={next} methods={methods} />, e.code === 'too_many_attempts' ? 429 : 401);
      }
      throw e;
    }
  });
  app.post('/login/totp', async (c) => {
    const form = await formOf(c);
    const next = safeNext(form.next);
    const challenge = typeof form.challenge === 'string' ? form.challenge : '';
    const recovery = opt(form.recovery_code);
    const parsed = TotpLoginRequest.safeParse(recovery ? { challenge, recovery_code: recovery } : { challenge, code: typeof form.code === 'string' ? form.code : '' });
    if (!parsed.success) return c.html(<TotpPage challenge={challenge} next={next} error={parsed.error.issues[0]?.message ?? 'Enter the code.'} />, 400);
    try {
      const { token } = await s.totp.completeLogin(parsed.data, c.get('clientIp') ?? '', c.req.header('user-agent') ?? null);
      setSessionCookie(c, token, w.cookie);
      return c.redirect(next, 303);
    } catch (e) {
      if (e instanceof DomainError && e.code === 'invalid_credentials') return c.html(<TotpPage challenge={challenge} next={next} error={`${e.message.replace(/^./, (x) => x.toUpperCase())}.`} />, 401);
      if (e instanceof DomainError && e.code === 'token_invalid') return c.html(<LoginPage error={`${e.message.replace(/^./, (x) => x.toUpperCase())}.`} next={next} methods={methods} />, 401);
      throw e;
    }
  });
  app.post('/logout', async (c) => {
    const session = c.get('session');
    if (session) await s.auth.logout(session);
    clearSessionCookie(c, w.cookie);
    return c.redirect('/login?signed_out=1', 303);
  });

  app.post('/hosts/new', guard('admin'), async (c) => {
    const f = nest(await formOf(c));
    const repo = (f.repository ?? {}) as Record<string, unknown>;
    const input = parseForm(CreateHostRequest, {
      name: opt(f.name) ?? '',
      tags: list(f.tags),
      repository: {
        url: opt(repo.url) ?? '',
        password: opt(repo.password),
        rest_username: opt(repo.rest_username),
        rest_password: opt(repo.rest_password),
        // Only REST URLs show the checkbox (AppendOnlyField); elsewhere the API's default (off) applies.
        append_only: repo.append_only_offered ? repo.append_only === 'true' || repo.append_only === 'on' : undefined,
      },
    });
    const result = await s.hosts.addHost(actorOf(c), input);
    return c.html(<EnrollmentResultView result={result} name={input.name} />);
  });

  app.post('/hosts/:id/token', guard('admin'), async (c) => {
    const host = await s.hosts.get(c.req.param('id'));
    const result = await s.hosts.regenerateToken(actorOf(c), host.id, undefined);
    return c.html(<EnrollmentResultView result={result} name={host.name} />);
  });

  app.post('/hosts/:id/run', guard('operator'), async (c) => {
    const id = c.req.param('id');
    const req = await runRequestFromForm(nest(await formOf(c)), () => w.read.defaultBackupPaths(id));
    const { job } = await s.jobs.runNow(actorOf(c), id, req.kind, req.args as Record<string, unknown>, { repositoryId: req.repository_id });
    return redirectTo(c, `/jobs/${job.id}`);
  });

  // Restore drill now (issue 16): the same request and service as POST /api/hosts/:id/restore-drills.
  app.post('/hosts/:id/restore-drill', guard('operator'), async (c) => {
    const f = await formOf(c);
    const req = parseForm(RestoreDrillRequest, typeof f.drill_host_id === 'string' && f.drill_host_id ? { drill_host_id: f.drill_host_id } : {});
    const { jobs } = await s.drills.run(actorOf(c), c.req.param('id'), req);
    return redirectTo(c, `/jobs/${jobs[0]?.id ?? ''}`);
  });

  app.post('/hosts/:id/tags', guard('operator'), async (c) => {
    const { tags } = parseForm(SetHostTagsRequest, { tags: list((await formOf(c)).tags) });
    await s.scope.checkTagChange(c.get('session'), c.req.param('id'), tags);
    await s.hosts.setTags(actorOf(c), c.req.param('id'), tags);
    c.header('HX-Trigger', JSON.stringify({ 'rm:toast': { message: 'Tags saved.', kind: 'ok' } }));
    return c.body(null, 204);
  });

  app.delete('/hosts/:id', guard('admin'), async (c) => {
    const host = await s.hosts.get(c.req.param('id'));
    const confirm = (await formOf(c)).confirm;
    if (confirm !== host.name) throw new DomainError('validation_failed', `type the host name “${host.name}” to confirm`, { confirm: `type ${host.name}` });
    await s.hosts.delete(actorOf(c), host.id);
    return redirectTo(c, '/');
  });

  app.post('/jobs/:id/cancel', guard('operator'), async (c) => {
    await s.jobs.cancel(actorOf(c), c.req.param('id'));
    const job = await s.jobs.get(c.req.param('id'));
    const host = await s.hosts.get(job.host_id).catch(() => null);
    c.header('HX-Trigger', JSON.stringify({ 'rm:toast': { message: 'Cancel sent to the agent.', kind: 'info' } }));
    return c.html(<JobSummary viewer={viewerOf(c)} job={job} host={host} />);
  });

  app.post('/alerts/:id/ack', guard('operator'), async (c) => {
    const a = await s.fleet.ackAlert(actorOf(c), c.req.param('id'));
    const names = await w.read.hostNames(a.host_id ? [a.host_id] : []);
    return c.html(<AlertRow alert={a} hostName={a.host_id ? (names.get(a.host_id) ?? null) : null} operate={true} />);
  });

  app.post('/settings/users', guard('admin'), async (c) => {
    const f = await formOf(c);
    const scope = scopeTagsOf(f.scope_tags);
    const input = parseForm(CreateUserRequest, { username: opt(f.username) ?? '', password: typeof f.password === 'string' ? f.password : '', role: f.role, ...(scope ? { scope_tags: scope } : {}) });
    await s.auth.createUser(actorOf(c), input);
    c.header('HX-Trigger', JSON.stringify({ 'rm:toast': { message: `User ${input.username} created.`, kind: 'ok' } }));
    const users = (await s.auth.listUsers(500, 0)).items;
    return c.html(<UsersCard users={users} me={viewerOf(c).username} disabled={await w.read.disabledUserIds()} />);
  });

  app.post('/settings/users/:id/role', guard('admin'), async (c) => {
    const role = parseForm(z.object({ role: Role }), { role: (await formOf(c)).role }).role;
    const u = await s.auth.setRole(actorOf(c), c.req.param('id'), role);
    c.header('HX-Trigger', JSON.stringify({ 'rm:toast': { message: `${u.username} is now ${role}.`, kind: 'ok' } }));
    const disabled = (await w.read.disabledUserIds()).has(u.id);
    return c.html(<UserRow user={{ ...userView(u), disabled }} self={false} />);
  });

  // Issue 21: the same request and service as PUT /api/users/:id/scope (comma- or space-separated tags; empty = every host).
  app.post('/settings/users/:id/scope', guard('admin'), async (c) => {
    const body = parseForm(SetUserScopeRequest, { scope_tags: scopeTagsOf((await formOf(c)).scope_tags) });
    const u = await s.auth.setScope(actorOf(c), c.req.param('id'), body.scope_tags);
    c.header('HX-Trigger', JSON.stringify({ 'rm:toast': { message: body.scope_tags ? `${u.username} is limited to hosts tagged ${body.scope_tags.join(', ')}.` : `${u.username} sees every host.`, kind: 'ok' } }));
    const disabled = (await w.read.disabledUserIds()).has(u.id);
    return c.html(<UserRow user={{ ...userView(u), disabled }} self={false} />);
  });

  app.post('/settings/users/:id/password', guard('admin'), async (c) => {
    const f = await formOf(c);
    const password = c.req.header('hx-prompt') ?? (typeof f.password === 'string' ? f.password : '');
    const u = await s.auth.resetPassword(actorOf(c), c.req.param('id'), password);
    const disabled = (await w.read.disabledUserIds()).has(u.id);
    c.header('HX-Trigger', JSON.stringify({ 'rm:toast': { message: `Password of ${u.username} reset; their sessions have ended.`, kind: 'ok' } }));
    return c.html(<UserRow user={{ ...userView(u), disabled }} self={false} />);
  });

  for (const [path, disable] of [['disable', true], ['enable', false]] as const) {
    app.post(`/settings/users/:id/${path}`, guard('admin'), async (c) => {
      const u = await s.auth.setDisabled(actorOf(c), c.req.param('id'), disable);
      c.header('HX-Trigger', JSON.stringify({ 'rm:toast': { message: `${u.username} ${disable ? 'disabled' : 'enabled'}.`, kind: 'ok' } }));
      return c.html(<UserRow user={{ ...userView(u), disabled: disable }} self={false} />);
    });
  }
}

/** A form's tag list ("team-a, web" or "team-a web"); empty = null (no scope). Validated by the REST schema after. */
function scopeTagsOf(v: unknown): string[] | null {
  const tags = (typeof v === 'string' ? v : '').split(/[\s,]+/).filter((t) => t !== '');
  return tags.length > 0 ? tags : null;
}
