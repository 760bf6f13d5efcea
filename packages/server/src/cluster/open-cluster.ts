import type { Logger } from 'pino';
import type { ServerMessage } from '@restic-manager/protocol';
import type { SecretBox } from '../crypto/secret-box.js';
import { ClusterMessageRepository } from '../repositories/cluster-message.repository.js';
import type { Repositories } from '../services/context.js';
import type { Db } from '../store/db.js';
import type { AgentRegistry } from '../ws/agent-registry.js';
import type { ClusterBus } from './bus.js';
import { ClusterAgentLink } from './cluster-agent-link.js';
import { PgBus } from './pg-bus.js';
import { RelayTokens } from './relay-token.js';

export interface ClusterOptions {
  /** Presence heartbeat (default 5 s); a replica silent for three is gone. */
  heartbeatMs?: number;
}

export interface Cluster {
  bus: ClusterBus;
  link: ClusterAgentLink;
  /** Tokens of the requests between replicas (downloads), bound to this replica's bus id. */
  tokens: RelayTokens;
  /** How many other replicas answer a hello within `waitMs` (before listening: may this one start without a URL?). */
  probe(waitMs: number): Promise<number>;
  /**
   * Once listening: heartbeats start, announcing `url` (where the others reach this replica, null
   * = nowhere), and it resolves when the replicas already listening have answered this one's hello
   * (so they publish job frames for its browsers from then on); after the first round, hosts no
   * replica holds are marked offline.
   */
  start(repos: Repositories, url: string | null): Promise<void>;
  close(): Promise<void>;
}

/** The bus and the cross-replica agent link of a server on a PostgreSQL store (docs/scale-out.md). */
export function openCluster(url: string, db: Db, box: SecretBox, log: Logger, registry: AgentRegistry, onSend: (hostId: string, msg: ServerMessage) => void, o: ClusterOptions = {}): Cluster {
  const bus = new PgBus({ url, db, spill: new ClusterMessageRepository(db), box, log });
  const heartbeatMs = o.heartbeatMs ?? 5000;
  let repos: Repositories | null = null;
  const markGone = (ids: string[]): void => {
    void repos?.hosts.markOffline(ids).then((n) => n && log.info({ hosts: n }, 'a server replica went silent; the agents it held are offline until they reconnect'), () => undefined);
  };
  const link = new ClusterAgentLink(registry, bus, { heartbeatMs, onRelay: onSend, onReplicaGone: markGone });
  registry.onPresence = (hostId, up) => link.localPresence(hostId, up);
  let settle: NodeJS.Timeout | null = null;
  return {
    bus,
    link,
    tokens: new RelayTokens(box, bus.replicaId),
    async probe(waitMs) {
      await bus.ready();
      link.probe();
      await new Promise((r) => setTimeout(r, waitMs));
      return link.otherReplicas();
    },
    async start(r, url) {
      repos = r;
      await bus.ready();
      await link.start(url);
      settle = setTimeout(() => {
        void r.hosts.markOfflineExcept(link.fleetHostIds()).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'cannot mark the hosts no replica holds offline'));
      }, Math.round(heartbeatMs * 1.5));
      settle.unref();
    },
    async close() {
      if (settle) clearTimeout(settle);
      link.stop();
      await bus.close();
    },
  };
}
