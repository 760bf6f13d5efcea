import { ruleOfReason } from '@restic-manager/protocol';
import type { ForgetPreview, ForgetPreviewRequest, ForgetPreviewView, PreviewSnapshot } from '@restic-manager/protocol';
import type { AgentRequests } from './agent-requests.js';
import type { ServiceDeps } from './context.js';
import { DomainError, notFound } from './errors.js';

/** How long the server waits for a preview (restic reads every snapshot file). */
export const PREVIEW_TIMEOUT_MS = 60_000;

/**
 * Retention preview (issue 16): which snapshots of the host's repository a forget with this
 * policy would keep, and why, and which it would remove. The agent runs `restic forget
 * --dry-run` (`forget.preview`): nothing is ever removed. Each restic reason is mapped to the
 * policy rule behind it. Throws not_found (host), agent_unavailable or invalid_state.
 */
export class ForgetPreviewService {
  /** How long to wait for the agent's answer (tests shorten it). */
  timeoutMs = PREVIEW_TIMEOUT_MS;

  constructor(private readonly d: ServiceDeps, private readonly requests: AgentRequests) {}

  async preview(hostId: string, req: ForgetPreviewRequest): Promise<ForgetPreviewView> {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    const r = await this.requests.request<ForgetPreview>(hostId, { type: 'forget.preview', policy: req.policy, ...(req.tags?.length ? { tags: req.tags } : {}) }, this.timeoutMs);
    if (r.error) throw new DomainError('invalid_state', `the retention preview failed on host ${host.name}: ${r.error}`);
    const view = (s: PreviewSnapshot): ForgetPreviewView['keep'][number] => ({ ...s, short_id: s.id.slice(0, 8), rules: s.reasons.map(ruleOfReason) });
    return {
      keep: r.keep.map(view), remove: r.remove.map(view),
      keep_count: Math.max(r.keep_count, r.keep.length), remove_count: Math.max(r.remove_count, r.remove.length),
      truncated: r.keep.length < r.keep_count || r.remove.length < r.remove_count,
    };
  }
}
