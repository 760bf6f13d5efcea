import type { ServerMessage } from '@restic-manager/protocol';
import type { AgentLink } from '../services/context.js';
import type { AgentRegistry } from '../ws/agent-registry.js';
import type { ClusterBus } from './bus.js';

/**
 * A replica's presence message: one agent came or went, or the whole list it holds (heartbeat,
 * with the URL the others reach it at); a heartbeat answering a replica's hello names it in `ack`
 * (sent after this replica recorded it).
 */
type Presence = { kind: 'up' | 'down'; host_id: string } | { kind: 'heartbeat'; hosts: string[]; ack?: string; url?: string | null } | { kind: 'hello' };

/** Where another replica can be reached for what the bus does not carry (downloads). */
export interface ReplicaAddress {
  replica: string;
  /** Its RM_CLUSTER_URL (or the one derived from its listen address); null when it has none. */
  url: string | null;
}

export interface ClusterAgentLinkOptions {
  /** How often this replica sends the list of agents it holds (default 5 s). */
  heartbeatMs?: number;
  /** A replica not heard from for this long is gone, and so are its agents (default 3 heartbeats). */
  expireMs?: number;
  now?: () => number;
  /** Observes a frame handed to another replica (metrics), like AgentRegistry's onSend. */
  onRelay?: (hostId: string, msg: ServerMessage) => void;
  /** A replica went silent: the agents it held that no replica holds now (to be marked offline). */
  onReplicaGone?: (hostIds: string[]) => void;
}

const MAX_HOSTS = 1_000_000;
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 64;
const isUrl = (v: unknown): v is string => typeof v === 'string' && v.length <= 300 && /^https?:\/\/[^/?#\s]+$/.test(v);

/**
 * The services' AgentLink across replicas (issue 17, docs/scale-out.md): an agent connected to
 * this replica is sent to directly; one connected to another replica is reached through the bus
 * (`agent.frame`), and that replica hands the frame to its socket. Which replica holds which
 * agent is learnt from the others' presence messages: `up`/`down` as agents come and go, and the
 * full list every heartbeat (so a replica that starts, or missed a message, catches up within one
 * heartbeat); a replica silent for `expireMs` is taken as gone with its agents.
 */
export class ClusterAgentLink implements AgentLink {
  /** host id -> the replica holding its socket (never this one). */
  private readonly remote = new Map<string, string>();
  /** replica id -> when it was last heard from, and its hosts. */
  private readonly replicas = new Map<string, { seen: number; hosts: Set<string>; url: string | null }>();
  /** Replicas that answered this one's hello, and the start waiting for some of them. */
  private readonly acked = new Set<string>();
  private awaitingAcks: { ids: Set<string>; done: () => void } | null = null;
  /** This replica's own URL for the others (announced in every heartbeat). */
  private selfUrl: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly heartbeatMs: number;
  private readonly expireMs: number;
  /**
   * Dispatches the queued jobs of a host connected here (JobService.dispatchPending), when another
   * replica made a job for it before it knew where the agent is. Set once the services exist.
   */
  onKick: ((hostId: string) => void) | null = null;

  constructor(private readonly local: AgentRegistry, private readonly bus: ClusterBus, private readonly o: ClusterAgentLinkOptions = {}) {
    this.heartbeatMs = o.heartbeatMs ?? 5000;
    this.expireMs = o.expireMs ?? this.heartbeatMs * 3;
    bus.on('presence', (b, from) => this.onPresence(b as Presence, from));
    bus.on('agent.frame', (b) => {
      const m = b as { host_id?: unknown; msg?: unknown };
      if (isId(m.host_id) && m.msg && typeof m.msg === 'object') this.local.send(m.host_id, m.msg as ServerMessage);
    });
    bus.on('agent.kick', (b) => {
      const m = b as { host_id?: unknown };
      if (isId(m.host_id) && this.local.isConnected(m.host_id)) this.onKick?.(m.host_id);
    });
    bus.on('agent.disconnect', (b) => {
      const m = b as { host_id?: unknown; code?: unknown; reason?: unknown };
      if (isId(m.host_id) && typeof m.code === 'number' && typeof m.reason === 'string') this.local.disconnect(m.host_id, m.code, m.reason.slice(0, 120));
    });
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /**
   * Starts the heartbeat (announcing `url`, where the others reach this replica) and asks the
   * others for theirs (call once the bus is ready). Resolves
   * once every replica the medium lists as listening has answered the hello — each has then
   * recorded this one as a peer, so from here on it publishes what this one's browsers may watch
   * (job frames, `hasPeers`) — or after `expireMs` (a replica that does not answer that long is
   * gone). The roster is read before the hello goes out, so each listed replica receives it.
   */
  async start(url: string | null = null): Promise<void> {
    this.selfUrl = url;
    const roster = await this.bus.peers().catch(() => [] as string[]);
    const waiting = new Set(roster.filter((id) => !this.acked.has(id)));
    let timeout: NodeJS.Timeout | null = null;
    const answered = waiting.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => {
      this.awaitingAcks = { ids: waiting, done: resolve };
      timeout = setTimeout(resolve, this.expireMs);
      timeout.unref();
    });
    this.bus.publish('presence', { kind: 'hello' } satisfies Presence);
    this.beat();
    this.timer = setInterval(() => {
      this.beat();
      this.expire();
    }, this.heartbeatMs);
    this.timer.unref();
    await answered;
    if (timeout) clearTimeout(timeout);
    this.awaitingAcks = null;
  }

  /**
   * Whether another replica may be listening: one was heard from within `expireMs`. Before a
   * replica's hello arrives this is false for it; its start waits for this replica's answer
   * (sent after it is recorded here) before it serves anything that listens on the bus.
   */
  hasPeers(): boolean {
    return this.replicas.size > 0;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The local registry's agents as they come and go (wired to AgentRegistry's presence hook). */
  localPresence(hostId: string, up: boolean): void {
    this.bus.publish('presence', { kind: up ? 'up' : 'down', host_id: hostId } satisfies Presence);
  }

  /** Says hello without starting the heartbeat: the replicas that hear it answer (see otherReplicas). */
  probe(): void {
    this.bus.publish('presence', { kind: 'hello' } satisfies Presence);
  }

  private beat(ack?: string): void {
    this.bus.publish('presence', { kind: 'heartbeat', hosts: this.local.readyHostIds(), url: this.selfUrl, ...(ack ? { ack } : {}) } satisfies Presence);
  }

  private replica(id: string): { seen: number; hosts: Set<string>; url: string | null } {
    let r = this.replicas.get(id);
    if (!r) this.replicas.set(id, (r = { seen: this.now(), hosts: new Set(), url: null }));
    r.seen = this.now();
    return r;
  }

  private onPresence(p: Presence, from: string): void {
    if (!p || typeof p !== 'object') return;
    const r = this.replica(from);
    if (p.kind === 'hello') return this.beat(from);
    if (p.kind === 'up' && isId(p.host_id)) {
      const prev = this.remote.get(p.host_id);
      if (prev && prev !== from) this.replicas.get(prev)?.hosts.delete(p.host_id);
      this.remote.set(p.host_id, from);
      r.hosts.add(p.host_id);
    } else if (p.kind === 'down' && isId(p.host_id)) {
      if (this.remote.get(p.host_id) === from) this.remote.delete(p.host_id);
      r.hosts.delete(p.host_id);
    } else if (p.kind === 'heartbeat' && Array.isArray(p.hosts) && p.hosts.length <= MAX_HOSTS) {
      const now = new Set(p.hosts.filter(isId));
      for (const h of r.hosts) if (!now.has(h) && this.remote.get(h) === from) this.remote.delete(h);
      for (const h of now) this.remote.set(h, from);
      r.hosts = now;
      r.url = isUrl(p.url) ? p.url : null;
      if (p.ack === this.bus.replicaId) this.answered(from);
    }
  }

  private answered(from: string): void {
    this.acked.add(from);
    const w = this.awaitingAcks;
    if (w && w.ids.delete(from) && w.ids.size === 0) w.done();
  }

  private expire(): void {
    const cutoff = this.now() - this.expireMs;
    for (const [id, r] of this.replicas) {
      if (r.seen >= cutoff) continue;
      const lost: string[] = [];
      for (const h of r.hosts) {
        if (this.remote.get(h) !== id) continue;
        this.remote.delete(h);
        if (!this.local.isConnected(h)) lost.push(h);
      }
      this.replicas.delete(id);
      if (lost.length) this.o.onReplicaGone?.(lost);
    }
  }

  send(hostId: string, msg: ServerMessage): boolean {
    if (this.local.send(hostId, msg)) return true;
    if (!this.remote.has(hostId)) return false;
    this.bus.publish('agent.frame', { host_id: hostId, msg });
    this.o.onRelay?.(hostId, msg);
    return true;
  }

  /** A job for the host stays queued here: a replica this one has not heard from yet may hold the agent, and sends it. */
  unreached(hostId: string): void {
    this.bus.publish('agent.kick', { host_id: hostId });
  }

  isConnected(hostId: string): boolean {
    return this.local.isConnected(hostId) || this.remote.has(hostId);
  }

  /** The other replica holding the host's agent, and its URL; null when none does as far as this one knows. */
  holder(hostId: string): ReplicaAddress | null {
    const replica = this.remote.get(hostId);
    return replica ? { replica, url: this.replicas.get(replica)?.url ?? null } : null;
  }

  /** Other replicas heard from and not yet expired. */
  otherReplicas(): number {
    return this.replicas.size;
  }

  /** Whether this replica holds the agent's socket (binary streams, e.g. downloads, need it). */
  isLocal(hostId: string): boolean {
    return this.local.isConnected(hostId);
  }

  disconnect(hostId: string, code: number, reason: string): void {
    this.local.disconnect(hostId, code, reason);
    if (this.remote.has(hostId)) this.bus.publish('agent.disconnect', { host_id: hostId, code, reason });
  }

  /** Agents connected to this replica (per-replica metrics and health). */
  connectedCount(): number {
    return this.local.connectedCount();
  }

  /** Agents connected to any replica, as far as this one knows. */
  fleetHostIds(): Set<string> {
    const all = new Set(this.remote.keys());
    for (const h of this.local.readyHostIds()) all.add(h);
    return all;
  }
}
