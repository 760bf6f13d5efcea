import type { Hono } from 'hono';
import type { AppEnv } from '../http/auth.middleware.js';
import type { WebCtx } from './web-context.js';
import { actorOf, guard } from './web-context.js';

/** Admin action: tell a host's agent that the server's version is available (POST /api/hosts/:id/agent/update). */
export function mountAgentUi(app: Hono<AppEnv>, w: WebCtx): void {
  app.post('/hosts/:id/agent/update', guard('admin'), async (c) => {
    const r = await w.services.agentVersions.requestUpdate(actorOf(c), c.req.param('id'));
    const message = `Sent: version ${r.version} is available. The agent only logs it — upgrade on the host with: sudo restic-manager-agent update`;
    return c.body(null, 204, { 'HX-Trigger': JSON.stringify({ 'rm:toast': { message, kind: 'ok' } }) });
  });
}
