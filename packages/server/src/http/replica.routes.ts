import type { Hono } from 'hono';
import { READY_HEADER, REPLICA_DOWNLOAD_PATH, ReplicaDownloadQuery } from '../cluster/replica-download-client.js';
import { RELAY_HEADER } from '../cluster/relay-token.js';
import type { OpenedDownload } from '../services/download-relay.js';
import type { Services } from '../services/services.js';
import type { AppEnv } from './auth.middleware.js';
import { validationError } from './errors.js';

/**
 * The routes only other server replicas call (docs/scale-out.md "Downloads through another
 * replica"), authenticated by a replica token (cluster/relay-token.ts) instead of a session, and
 * left out of the public API document. A download of an agent this replica holds streams to the
 * asking replica, which checked the browser's access and audits it.
 */
export function mountReplicaRoutes(app: Hono<AppEnv>, services: Services): void {
  app.get(`${REPLICA_DOWNLOAD_PATH}/:host_id`, async (c) => {
    const url = new URL(c.req.url);
    services.downloads.checkReplicaToken(c.req.header(RELAY_HEADER), c.req.method, `${url.pathname}${url.search}`, c.get('clientIp'));
    const q = ReplicaDownloadQuery.safeParse(c.req.query());
    if (!q.success) throw validationError('query', q.error);
    return replicaDownloadResponse(await services.downloads.openForReplica(c.req.param('host_id'), q.data));
  });
}

function replicaDownloadResponse(d: OpenedDownload): Response {
  const { kind, size, entries } = d.ready;
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store', [READY_HEADER]: JSON.stringify({ kind, size, entries }) };
  if (kind === 'file') headers['Content-Length'] = String(size);
  return new Response(d.body, { status: 200, headers });
}
