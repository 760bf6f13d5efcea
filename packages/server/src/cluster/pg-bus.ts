import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Logger } from 'pino';
import type { ClusterMessageRepository } from '../repositories/cluster-message.repository.js';
import type { Db } from '../store/db.js';
import type { BusHandler, BusTopic, ClusterBus } from './bus.js';

/** The NOTIFY channel every replica listens on. */
export const BUS_CHANNEL = 'rm_bus';
/** A listening connection's application_name is this and its replica id, set once LISTEN is active (the roster, `peers()`). */
export const LISTENER_NAME = 'rm-bus:';
/** A sealed message longer than this goes into cluster_messages (NOTIFY's payload limit is 8000 bytes). */
export const INLINE_MAX = 7800;
/** Messages waiting to be published at most; beyond it the oldest live job frames are dropped first. */
export const PUBLISH_QUEUE_MAX = 10_000;
/** Queued messages sent in one statement at most (one NOTIFY each, in one transaction). */
export const PUBLISH_BATCH_MAX = 100;
/** How long a spilled message is kept for the replicas to read it. */
export const SPILL_TTL_MS = 60_000;
const AAD = 'rm-bus';
const TOPICS: ReadonlySet<string> = new Set<BusTopic>(['agent.frame', 'agent.disconnect', 'agent.answer', 'agent.kick', 'presence', 'job.frame']);

interface Envelope { from: string; topic: BusTopic; body: unknown }

export interface PgBusDeps {
  url: string;
  /** Publishes go through the store (one connection at a time, in order). */
  db: Db;
  spill: ClusterMessageRepository;
  /** Seals every message (the replicas share the key file): frames for agents carry credentials. */
  box: SecretBox;
  log: Logger;
  now?: () => number;
  /** Messages sent in one statement at most (default PUBLISH_BATCH_MAX; 1: one round trip each). */
  publishBatch?: number;
  /** Reconnect delay of the listening connection (default 1 s). */
  reconnectMs?: number;
}

/**
 * The bus over PostgreSQL LISTEN/NOTIFY (decision 0015): no cluster protocol of our own, the
 * database every replica already needs carries it. Each message is sealed with the server's
 * secret box (AAD `rm-bus`), so a frame with a repository password is never readable in the
 * database's notification queue or the spill table; one above INLINE_MAX is stored in
 * cluster_messages and the NOTIFY names its row. Publishes are sent one statement at a time in
 * order (NOTIFYs of one session arrive in commit order), each statement carrying what queued up
 * while the previous one was in flight (PUBLISH_BATCH_MAX at most); received messages are handled
 * one at a time in arrival order, a spilled one after its row is read. The listening connection
 * reconnects on its own; what is published while it is down is lost (presence heals by heartbeat).
 */
export class PgBus implements ClusterBus {
  readonly replicaId = randomUUID();
  private readonly handlers = new Map<BusTopic, BusHandler>();
  private client: pg.Client | null = null;
  private closed = false;
  private readonly queue: { topic: BusTopic; body: unknown }[] = [];
  /** The running drain of the publish queue, if any (close waits for it). */
  private draining: Promise<void> | null = null;
  private receiving: Promise<void> = Promise.resolve();
  private listening!: Promise<void>;
  private markListening!: () => void;
  private reconnect: NodeJS.Timeout | null = null;
  private readonly sweep: NodeJS.Timeout;
  private dropped = 0;

  constructor(private readonly d: PgBusDeps) {
    this.resetListening();
    void this.listen();
    this.sweep = setInterval(() => void this.sweepSpill(), SPILL_TTL_MS / 2);
    this.sweep.unref();
  }

  private now(): number {
    return (this.d.now ?? Date.now)();
  }

  private resetListening(): void {
    this.listening = new Promise((r) => (this.markListening = r));
  }

  ready(): Promise<void> {
    return this.listening;
  }

  on(topic: BusTopic, fn: BusHandler): void {
    this.handlers.set(topic, fn);
  }

  publish(topic: BusTopic, body: unknown): void {
    if (this.closed) return;
    if (this.queue.length >= PUBLISH_QUEUE_MAX) {
      // Live job frames are the only ones a browser can do without (the job log is in the database).
      const i = this.queue.findIndex((m) => m.topic === 'job.frame');
      this.queue.splice(i >= 0 ? i : 0, 1);
      if (this.dropped++ % 1000 === 0) this.d.log.warn({ queued: this.queue.length }, 'cluster bus: publish queue full; dropping the oldest live job frames');
    }
    this.queue.push({ topic, body });
    this.draining ??= this.drain().finally(() => (this.draining = null));
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.d.publishBatch ?? PUBLISH_BATCH_MAX);
      try {
        await this.send(batch);
      } catch (e) {
        this.d.log.warn({ messages: batch.length, err: (e as Error).message }, 'cluster bus: messages could not be published');
      }
    }
  }

  /**
   * Sends what has queued up in one statement: one round trip instead of one per message, so the
   * bus keeps pace with a burst (a run-now to every host) however long the database takes to
   * answer. NOTIFYs of one transaction arrive in the order they were made, and PostgreSQL calls
   * a volatile function of the select list after ORDER BY, so the batch arrives in queue order.
   */
  private async send(batch: { topic: BusTopic; body: unknown }[]): Promise<void> {
    const payloads: string[] = [];
    for (const { topic, body } of batch) {
      const sealed = this.d.box.sealJson({ from: this.replicaId, topic, body } satisfies Envelope, AAD);
      if (sealed.length + 2 <= INLINE_MAX) {
        payloads.push(`m:${sealed}`);
        continue;
      }
      const id = randomUUID();
      try {
        await this.d.spill.put(id, sealed, new Date(this.now()).toISOString());
        payloads.push(`s:${id}`);
      } catch (e) {
        this.d.log.warn({ topic, err: (e as Error).message }, 'cluster bus: a message could not be published');
      }
    }
    if (payloads.length) await sql`SELECT pg_notify(${BUS_CHANNEL}, p) FROM unnest(${payloads}::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i`.execute(this.d.db);
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.d.url });
    this.client = client;
    const retry = (why: string): void => {
      if (this.client !== client) return;
      this.client = null;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (this.closed) return;
      this.resetListening();
      this.d.log.warn({ err: why }, 'cluster bus: the listening connection to PostgreSQL was lost; reconnecting');
      this.reconnect = setTimeout(() => void this.listen(), this.d.reconnectMs ?? 1000);
      this.reconnect.unref();
    };
    client.on('error', (e) => retry(e.message));
    client.on('end', () => retry('connection ended'));
    client.on('notification', (n) => {
      if (n.channel !== BUS_CHANNEL || typeof n.payload !== 'string') return;
      const payload = n.payload;
      this.receiving = this.receiving.then(() => this.receive(payload)).catch(() => undefined);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${BUS_CHANNEL}`);
      // Named only once listening: whoever finds this connection in pg_stat_activity reaches it.
      await client.query('SELECT set_config($1, $2, false)', ['application_name', `${LISTENER_NAME}${this.replicaId}`]);
      this.markListening();
    } catch (e) {
      retry((e as Error).message);
    }
  }

  /** The replicas whose listening connection is open on this database now (pg_stat_activity shows every session's application_name). */
  async peers(): Promise<string[]> {
    const r = await sql<{ name: string }>`SELECT application_name AS name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE ${`${LISTENER_NAME}%`}`.execute(this.d.db);
    return r.rows.map((x) => x.name.slice(LISTENER_NAME.length)).filter((id) => id !== this.replicaId);
  }

  private async receive(payload: string): Promise<void> {
    let sealed: string | null;
    if (payload.startsWith('m:')) sealed = payload.slice(2);
    else if (payload.startsWith('s:') && payload.length <= 40) sealed = await this.d.spill.get(payload.slice(2));
    else return;
    if (!sealed) return;
    let env: Envelope;
    try {
      env = this.d.box.openJson<Envelope>(sealed, AAD);
    } catch {
      // not sealed with our key: another installation sharing the database, or forged; ignored
      return;
    }
    if (env.from === this.replicaId || typeof env.topic !== 'string' || !TOPICS.has(env.topic)) return;
    try {
      this.handlers.get(env.topic)?.(env.body, env.from);
    } catch (e) {
      this.d.log.warn({ topic: env.topic, err: (e as Error).message }, 'cluster bus: a handler failed');
    }
  }

  private async sweepSpill(): Promise<void> {
    await this.d.spill.deleteBefore(new Date(this.now() - SPILL_TTL_MS).toISOString()).catch(() => 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweep);
    if (this.reconnect) clearTimeout(this.reconnect);
    // what is queued still goes out (a presence "down" at shutdown), for a second at most: a database
    // that does not answer must not hold the shutdown
    if (this.draining) await Promise.race([this.draining, new Promise((r) => setTimeout(r, 1000).unref())]);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}
