import type { Context, Hono } from 'hono';
import { CreateApiTokenRequest } from '@restic-manager/protocol';
import type { AppEnv } from '../http/auth.middleware.js';
import { list, numOrRaw, opt, parseForm } from './forms.js';
import { TokensCard, TokensPage } from './pages/tokens.js';
import type { WebCtx } from './web-context.js';
import { actorOf, formOf, guard, viewerOf } from './web-context.js';

/** Settings → API tokens: the same service calls as POST/GET/DELETE /api/tokens. */
export function mountTokenUi(app: Hono<AppEnv>, w: WebCtx): void {
  const t = w.services.tokens;
  const mine = (c: Context<AppEnv>) => t.list(actorOf(c), c.get('session')?.user.id ?? '');

  app.get('/settings/tokens', guard(), async (c) => c.html(<TokensPage viewer={viewerOf(c)} tokens={await mine(c)} />));

  app.post('/settings/tokens', guard(), async (c) => {
    const f = await formOf(c);
    const tags = list(f.scope_tags);
    const input = parseForm(CreateApiTokenRequest, {
      name: opt(f.name) ?? '', role: opt(f.role), scope_tags: tags.length ? tags : null, expires_in_days: numOrRaw(f.expires_in_days) ?? 90,
    });
    const created = await t.create(actorOf(c), c.get('session')?.user.id ?? '', input);
    return c.html(<TokensCard tokens={await mine(c)} role={viewerOf(c).role} created={{ token: created.token, name: created.api_token.name }} />);
  });

  app.post('/settings/tokens/:id/revoke', guard(), async (c) => {
    await t.revoke(actorOf(c), c.req.param('id'));
    return c.html(<TokensCard tokens={await mine(c)} role={viewerOf(c).role} />);
  });
}
