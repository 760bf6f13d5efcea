import type { z } from 'zod';
import { ForgetPreviewRequest, ForgetPreviewView, SnapshotDiffQuery, SnapshotDiffView } from '@restic-manager/protocol';
import type { RouteDeps } from './deps.js';
import { route } from './route.js';
import type { RouteSpec } from './route.js';

/** Read-only looks into a host's repository through its agent (issue 16): snapshot diff, retention preview. */
export function inspectRoutes(d: RouteDeps): RouteSpec[] {
  const s = d.services;
  return [
    route<undefined, z.infer<typeof SnapshotDiffQuery>>({
      method: 'get', path: '/api/hosts/:id/snapshots/:snapshot_id/diff',
      summary: "What changed: restic's diff statistics and one page of changed paths (+ - M T) from `against` (the snapshot's parent, i.e. the previous snapshot of the same host and paths, or another snapshot id) to this snapshot, computed by the host's agent",
      access: 'operator', query: SnapshotDiffQuery, response: SnapshotDiffView, errors: ['agent_unavailable'],
      handler: ({ params, query: q }) => s.diff.diff(params.id ?? '', params.snapshot_id ?? '', q.against, q.limit, q.offset),
    }),
    route<z.infer<typeof ForgetPreviewRequest>>({
      method: 'post', path: '/api/hosts/:id/forget/preview',
      summary: 'Retention preview: which snapshots of the host\'s repository a forget with this policy would keep (and which rule keeps each) and remove. Runs restic forget --dry-run on the agent; nothing is removed',
      access: 'operator', body: ForgetPreviewRequest, response: ForgetPreviewView, errors: ['agent_unavailable'],
      handler: ({ params, body }) => s.forgetPreview.preview(params.id ?? '', body),
    }),
  ];
}
