/*
 * Child process of bench/fleet.bench.ts: opens many simulated agents (FakeAgent, the real
 * protocol over real WebSockets) and answers every command.run with job.started at once.
 * Talks to the parent over IPC:
 *   in : { type: 'start', url, agents: [{ host_id, bearer }], concurrency }
 *   out: { type: 'connected', count, failed } once all are connected (or failed)
 *        { type: 'dispatch', items: [[job_id, t_ms]] } batched every 20 ms (t = wall clock, µs precision)
 *        { type: 'rss', mb }
 */
import { performance } from 'node:perf_hooks';
import { FakeAgent } from '@restic-manager/server/testing';

interface Start {
  type: 'start';
  url: string;
  agents: { host_id: string; bearer: string }[];
  concurrency: number;
}

const now = (): number => performance.timeOrigin + performance.now();
let pending: [string, number][] = [];
const agents: FakeAgent[] = [];

setInterval(() => {
  if (pending.length) {
    process.send?.({ type: 'dispatch', items: pending });
    pending = [];
  }
}, 20).unref();

process.on('message', (m: Start | { type: 'rss' } | { type: 'stop' }) => {
  if (m.type === 'start') void start(m);
  if (m.type === 'rss') process.send?.({ type: 'rss', mb: process.memoryUsage().rss / 1048576 });
  if (m.type === 'stop') {
    for (const a of agents) a.ws?.terminate();
    process.exit(0);
  }
});

async function start(m: Start): Promise<void> {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < m.agents.length) {
      const spec = m.agents[next++]!;
      const agent = new FakeAgent({
        url: m.url,
        bearer: spec.bearer,
        hostname: spec.host_id.slice(0, 8),
        onMessage: (msg, a) => {
          if (msg.type !== 'command.run') return;
          pending.push([msg.job_id, now()]);
          a.started(msg.job_id, msg.kind);
        },
      });
      try {
        await agent.connect();
        agents.push(agent);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: m.concurrency }, worker));
  process.send?.({ type: 'connected', count: agents.length, failed });
  setInterval(() => {
    for (const a of agents) a.heartbeat();
  }, 30_000).unref();
}
