/**
 * The replicas' message bus (issue 17, docs/scale-out.md "Cross-replica delivery"): what one
 * server replica must tell the others — a frame for an agent whose socket another replica holds,
 * a job's live frames for browsers watching on another replica, which agents each replica holds.
 * A message reaches every *other* replica on the same medium, at most once, in publish order per
 * publisher; never the publisher itself. Nothing is durable here: what must survive a replica's
 * loss lives in the database (jobs stay queued until an agent takes them, the outbox, leases).
 */
export type BusTopic = 'agent.frame' | 'agent.disconnect' | 'agent.answer' | 'agent.kick' | 'presence' | 'job.frame';

export type BusHandler = (body: unknown, from: string) => void;

export interface ClusterBus {
  /** This replica's id (random per process). */
  readonly replicaId: string;
  /** Sends to every other replica; never throws (a failure is logged by the implementation). */
  publish(topic: BusTopic, body: unknown): void;
  /** Registers the handler of a topic (one per topic). */
  on(topic: BusTopic, fn: BusHandler): void;
  /** Resolves once the bus receives (LISTEN is active); publishes before that may be missed. */
  ready(): Promise<void>;
  /**
   * The ids of the other replicas receiving on this medium now, as the medium itself knows them
   * (not from presence messages): every one listed receives what this replica publishes next.
   * Rejects when the medium cannot be asked (the caller then knows no roster).
   */
  peers(): Promise<string[]>;
  close(): Promise<void>;
}

/** An in-process medium: the buses opened on one medium reach each other (one replica alone reaches nobody). */
export class LocalMedium {
  private readonly buses = new Set<LocalBus>();

  open(replicaId: string): LocalBus {
    const bus = new LocalBus(replicaId, this);
    this.buses.add(bus);
    return bus;
  }

  /** @internal */
  deliver(from: LocalBus, topic: BusTopic, body: unknown): void {
    // Serialised like the wire would, so a handler never shares an object with the publisher.
    const copy = JSON.stringify(body);
    for (const b of this.buses) if (b !== from) queueMicrotask(() => b.receive(topic, JSON.parse(copy) as unknown, from.replicaId));
  }

  /** @internal */
  roster(): string[] {
    return [...this.buses].map((b) => b.replicaId);
  }

  /** @internal */
  drop(bus: LocalBus): void {
    this.buses.delete(bus);
  }
}

export class LocalBus implements ClusterBus {
  private readonly handlers = new Map<BusTopic, BusHandler>();
  private closed = false;

  constructor(readonly replicaId: string, private readonly medium: LocalMedium) {}

  publish(topic: BusTopic, body: unknown): void {
    if (!this.closed) this.medium.deliver(this, topic, body);
  }

  on(topic: BusTopic, fn: BusHandler): void {
    this.handlers.set(topic, fn);
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  peers(): Promise<string[]> {
    return Promise.resolve(this.medium.roster().filter((id) => id !== this.replicaId));
  }

  /** @internal */
  receive(topic: BusTopic, body: unknown, from: string): void {
    if (this.closed) return;
    try {
      this.handlers.get(topic)?.(body, from);
    } catch {
      // a handler's failure is its own; the bus keeps delivering
    }
  }

  close(): Promise<void> {
    this.closed = true;
    this.medium.drop(this);
    return Promise.resolve();
  }
}
