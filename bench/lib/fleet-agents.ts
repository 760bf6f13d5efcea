/*
 * Child process of bench/fleet.bench.ts: opens many simulated agents (FakeAgent, the real
 * protocol over real WebSockets) and answers every command.run with job.started at once.
 * An agent whose socket is lost (its server replica killed) reconnects like the real agent —
 * its Backoff (1 s doubling to 60 s, equal jitter) — to another replica of `urls` (as a
 * balancer's redispatch would), or to the same server when there is only one.
 * Talks to the parent over IPC (ChildIn / ChildOut below).
 */
import { performance } from 'node:perf_hooks';
import { Backoff } from '@restic-manager/agent';
import { FakeAgent } from '@restic-manager/server/testing';

export interface AgentSpec {
  host_id: string;
  bearer: string;
  /** Index in `urls` of the server it connects to first (default 0). */
  replica?: number;
}

export type ChildIn = { type: 'start'; urls: string[]; agents: AgentSpec[]; concurrency: number } | { type: 'stop' };

/** Out: `connected` once all first connections are made (or failed); the others batched every 20 ms (t = wall clock, µs precision). */
export type ChildOut =
  | { type: 'connected'; count: number; failed: number; errors: Record<string, number> }
  | { type: 'dispatch'; items: [string, number][] }
  | { type: 'reconnected'; items: [string, number][] };

interface Slot {
  spec: AgentSpec;
  /** The agent's position in this child (spreads a lost replica's agents over the others). */
  n: number;
  replica: number;
  agent: FakeAgent | null;
  backoff: Backoff;
}

const now = (): number => performance.timeOrigin + performance.now();
let urls: string[] = [];
let dispatched: [string, number][] = [];
let reconnected: [string, number][] = [];
let stopping = false;
const slots: Slot[] = [];
/** Why connection attempts failed (message -> count), reported with `connected` and at stop. */
const errors: Record<string, number> = {};
const failure = (e: unknown): void => {
  const why = (e as Error).message.slice(0, 100);
  errors[why] = (errors[why] ?? 0) + 1;
};
/** A greeting slower than this counts as a failed attempt (a loaded server; the real agent waits as long). */
const HELLO_TIMEOUT_MS = 30_000;
/** First connections are retried this often (with the backoff) before an agent counts as failed. */
const FIRST_ATTEMPTS = 5;

setInterval(() => {
  if (dispatched.length) process.send?.({ type: 'dispatch', items: dispatched } satisfies ChildOut);
  if (reconnected.length) process.send?.({ type: 'reconnected', items: reconnected } satisfies ChildOut);
  dispatched = [];
  reconnected = [];
}, 20).unref();

process.on('message', (m: ChildIn) => {
  if (m.type === 'start') void start(m);
  if (m.type === 'stop') {
    stopping = true;
    if (Object.keys(errors).length) process.stderr.write(`[fleet-agents] failed connection attempts: ${JSON.stringify(errors)}\n`);
    for (const s of slots) s.agent?.ws?.terminate();
    process.exit(0);
  }
});

/** Connects the slot's agent to its current replica; once greeted, watches for the socket's loss. */
async function connect(s: Slot): Promise<void> {
  const agent = new FakeAgent({
    url: urls[s.replica]!,
    bearer: s.spec.bearer,
    hostname: s.spec.host_id.slice(0, 8),
    helloTimeoutMs: HELLO_TIMEOUT_MS,
    onMessage: (msg, a) => {
      if (msg.type !== 'command.run') return;
      dispatched.push([msg.job_id, now()]);
      a.started(msg.job_id, msg.kind);
    },
  });
  try {
    await agent.connect();
  } catch (e) {
    agent.ws?.terminate();
    failure(e);
    throw e;
  }
  s.agent = agent;
  s.backoff.reset();
  void agent.closed.then(() => {
    if (stopping || s.agent !== agent) return;
    s.agent = null;
    reconnect(s, 1 + (urls.length > 1 ? s.n % (urls.length - 1) : 0));
  });
}

/**
 * After the backoff's delay, tries the replica `step` places on; a refused TCP connection (a
 * dead replica) moves on to the next one at once, as a balancer's redispatch would.
 */
function reconnect(s: Slot, step: number): void {
  setTimeout(() => {
    if (stopping) return;
    s.replica = (s.replica + step) % urls.length;
    void (async () => {
      for (let tried = 1; ; tried++) {
        try {
          await connect(s);
          reconnected.push([s.spec.host_id, now()]);
          return;
        } catch (e) {
          if (stopping) return;
          if (!/ECONNREFUSED/.test((e as Error).message) || tried >= urls.length) return reconnect(s, 1);
          s.replica = (s.replica + 1) % urls.length;
        }
      }
    })();
  }, s.backoff.next());
}

async function start(m: Extract<ChildIn, { type: 'start' }>): Promise<void> {
  urls = m.urls;
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < m.agents.length) {
      const n = next++;
      const spec = m.agents[n]!;
      const s: Slot = { spec, n, replica: spec.replica ?? 0, agent: null, backoff: new Backoff({ initialMs: 1000, maxMs: 60_000 }) };
      for (let attempt = 1; ; attempt++) {
        try {
          await connect(s);
          slots.push(s);
          break;
        } catch {
          if (attempt === FIRST_ATTEMPTS) {
            failed++;
            break;
          }
          await new Promise((r) => setTimeout(r, s.backoff.next()));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: m.concurrency }, worker));
  process.send?.({ type: 'connected', count: slots.length, failed, errors } satisfies ChildOut);
  setInterval(() => {
    for (const s of slots) s.agent?.heartbeat();
  }, 30_000).unref();
}
