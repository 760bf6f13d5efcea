import { DownloadQuery } from '@restic-manager/protocol';
import { contentDisposition } from '../services/download.service.js';
import type { DownloadAnswer } from '../services/download.service.js';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/** Download from a snapshot (issue 16): the bytes stream from the host's agent through the server. */
export function downloadRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services;
  return [
    route<undefined, DownloadQuery>({
      method: 'get', path: '/api/hosts/:id/snapshots/:snapshot_id/download',
      summary: "Download a file of a snapshot, or a folder as tar or zip (`format`), streamed by the host's agent (restic dump) with back-pressure and no copy on the server. Refused with 413 when the path holds more than RM_DOWNLOAD_MAX_BYTES; audited",
      access: 'operator', query: DownloadQuery, errors: ['agent_unavailable', 'too_large', 'rate_limited'],
      otherResponses: {
        200: { description: 'the file (application/octet-stream, with Content-Length) or the archive (application/x-tar, application/zip), as an attachment', contentType: 'application/octet-stream' },
      },
      handler: async ({ actor, params, query: q }) => downloadResponse(await s.downloads.open(actor, params.id ?? '', params.snapshot_id ?? '', q.path, q.format)),
    }),
  ];
}

/** The HTTP answer of a download (the REST and the web edge): an attachment streamed as the browser reads. */
export function downloadResponse(a: DownloadAnswer): Response {
  const headers: Record<string, string> = { 'Content-Type': a.contentType, 'Content-Disposition': contentDisposition(a.filename), 'Cache-Control': 'no-store' };
  if (a.length !== null) headers['Content-Length'] = String(a.length);
  return new Response(a.body, { status: 200, headers });
}
