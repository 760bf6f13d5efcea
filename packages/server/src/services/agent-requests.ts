import { randomUUID } from 'node:crypto';
import type { ForgetPreviewResult, RepoKeyResult, RepoTestResultFrame, ServerMessage, SnapshotDiffResult, SnapshotLsResult } from '@restic-manager/protocol';
import type { AgentLink } from './context.js';
import { DomainError } from './errors.js';
import type { ClusterBus } from '../cluster/bus.js';

export type RequestResult = SnapshotLsResult | RepoKeyResult | RepoTestResultFrame | SnapshotDiffResult | ForgetPreviewResult;
type Result = RequestResult;
type Request = Extract<ServerMessage, { type: 'snapshot.ls' | 'repo.key.add' | 'repo.key.remove' | 'repo.test' | 'snapshot.diff' | 'forget.preview' }>;
type ResultOf<R extends Request> = R extends { type: 'snapshot.ls' } ? SnapshotLsResult : R extends { type: 'repo.test' } ? RepoTestResultFrame
  : R extends { type: 'snapshot.diff' } ? SnapshotDiffResult : R extends { type: 'forget.preview' } ? ForgetPreviewResult : RepoKeyResult;
const EXPECTS: Record<Request['type'], Result['type']> = {
  'snapshot.ls': 'snapshot.ls.result', 'repo.key.add': 'repo.key.result', 'repo.key.remove': 'repo.key.result', 'repo.test': 'repo.test.result',
  'snapshot.diff': 'snapshot.diff.result', 'forget.preview': 'forget.preview.result',
};

interface Pending {
  hostId: string;
  expects: Result['type'];
  resolve(r: Result): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Request/response over the agent socket (docs/protocol.md, "Requests"). `request` sends a frame
 * with a fresh request_id and resolves with the agent's one answer. It never hangs: it fails with
 * DomainError('agent_unavailable') when the agent is offline, goes offline meanwhile, or does not
 * answer within the timeout (an agent older than the server ignores requests).
 */
export class AgentRequests {
  private readonly pending = new Map<string, Pending>();

  /**
   * With several replicas a request may go out through another replica's agent socket
   * (docs/scale-out.md): an answer this replica did not ask for is passed on over the `bus`, and
   * answers from the bus are matched here.
   */
  constructor(private readonly agents: AgentLink, private readonly hostName: (hostId: string) => Promise<string>, private readonly bus?: ClusterBus) {
    bus?.on('agent.answer', (b) => {
      const m = b as { host_id?: unknown; result?: unknown };
      if (typeof m.host_id === 'string' && m.result && typeof m.result === 'object') this.match(m.host_id, m.result as Result);
    });
  }

  async request<R extends Request>(hostId: string, frame: Omit<R, 'request_id'>, timeoutMs: number): Promise<ResultOf<R>> {
    const name = await this.hostName(hostId);
    if (!this.agents.isConnected(hostId)) throw new DomainError('agent_unavailable', `the agent of host ${name} is offline; try again when it is online`);
    const id = randomUUID();
    const expects = EXPECTS[frame.type];
    return new Promise<ResultOf<R>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new DomainError('agent_unavailable', `the agent of host ${name} did not answer within ${Math.round(timeoutMs / 1000)} s (it may be busy, or older than this server and unable to answer ${frame.type})`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { hostId, expects, resolve: resolve as (r: Result) => void, reject, timer });
      if (!this.agents.send(hostId, { ...frame, request_id: id } as unknown as ServerMessage)) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new DomainError('agent_unavailable', `the agent of host ${name} is offline; try again when it is online`));
      }
    });
  }

  /**
   * An answer from a host. Unknown ids, another host's ids and mismatched types are ignored
   * (false); with a bus, an answer to no request of this replica is passed to the others (true).
   */
  answer(hostId: string, r: Result): boolean {
    if (this.match(hostId, r)) return true;
    if (!this.bus) return false;
    this.bus.publish('agent.answer', { host_id: hostId, result: r });
    return true;
  }

  private match(hostId: string, r: Result): boolean {
    const p = this.pending.get(r.request_id);
    if (!p || p.hostId !== hostId || p.expects !== r.type) return false;
    this.pending.delete(r.request_id);
    clearTimeout(p.timer);
    p.resolve(r);
    return true;
  }

  /** The host's socket closed: its open requests fail at once. */
  hostGone(hostId: string): void {
    for (const [id, p] of this.pending) {
      if (p.hostId !== hostId) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new DomainError('agent_unavailable', 'the agent went offline before it answered'));
    }
  }
}
