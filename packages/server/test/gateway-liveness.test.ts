import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '@restic-manager/protocol';
import type { ServerMessage } from '@restic-manager/protocol';
import { FakeAgent } from '@restic-manager/server/testing';
import type { HostRow } from '../src/repositories/host.repository.js';
import type { AgentEventsService } from '../src/services/agent-events.service.js';
import type { ReportQuarantineService } from '../src/services/report-quarantine.service.js';
import { AgentGateway } from '../src/ws/agent-gateway.js';
import { AgentRegistry } from '../src/ws/agent-registry.js';

/**
 * The gateway alone, with the services replaced by a hello the test holds: what a server whose
 * store is slow to answer (thousands of agents greeting at once) does with agents that keep
 * sending heartbeats meanwhile.
 */
async function gatewayWithHeldHello(agentTimeoutMs: number) {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const offline: string[] = [];
  const host = { id: 'h1', name: 'h1' } as HostRow;
  const events = {
    authenticate: () => Promise.resolve(host),
    hello: async (): Promise<ServerMessage[]> => {
      await held;
      return [{ type: 'hello', protocol_version: PROTOCOL_VERSION, server_version: 'test', host_id: host.id }];
    },
    afterHello: () => Promise.resolve(),
    disconnected: (id: string) => (offline.push(id), Promise.resolve()),
  } as unknown as AgentEventsService;
  const gateway = new AgentGateway(events, {} as ReportQuarantineService, new AgentRegistry(), pino({ level: 'silent' }), {
    agentTimeoutMs, helloTimeoutMs: 60_000, now: () => Date.now(), upgradeUrl: () => 'http://127.0.0.1/docs/upgrade',
  });
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => void gateway.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url, release, offline,
    async close() {
      await gateway.close();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('agent liveness while its frames wait', () => {
  const open: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close(); // agents first: the server waits for their sockets
  });

  it('an agent whose hello waits for the store longer than the agent timeout, heartbeating meanwhile, is not closed as silent', async () => {
    const g = await gatewayWithHeldHello(600);
    open.push(g);
    const agent = new FakeAgent({ url: g.url, bearer: 'b'.repeat(43), helloTimeoutMs: 10_000 });
    open.push(agent);
    const hello = agent.connect();
    while (agent.ws?.readyState !== 1) await new Promise((r) => setTimeout(r, 10)); // open: connect() sends the hello next
    let closed: number | null = null;
    void agent.closed.then((c) => (closed = c.code));
    // 2 s of heartbeats every 150 ms: more than three agent timeouts, during which nothing is applied
    for (let i = 0; i < 13; i++) {
      agent.heartbeat();
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(closed).toBeNull();
    expect(g.offline).toEqual([]);
    g.release();
    expect(await hello).toMatchObject({ type: 'hello', host_id: 'h1' });
    expect(closed).toBeNull();
  });

  it('an agent that sends nothing after its hello is still closed as silent (4005)', async () => {
    const g = await gatewayWithHeldHello(600);
    open.push(g);
    g.release();
    const agent = new FakeAgent({ url: g.url, bearer: 'c'.repeat(43) });
    open.push(agent);
    await agent.connect();
    expect((await agent.closed).code).toBe(4005);
    expect(g.offline).toEqual(['h1']);
  });

  it('an agent that reconnects while its old connection\'s frames are still being applied stays online', async () => {
    const g = await gatewayWithHeldHello(60_000);
    open.push(g);
    const old = new FakeAgent({ url: g.url, bearer: 'd'.repeat(43), helloTimeoutMs: 10_000 });
    void old.connect().catch(() => undefined);
    while (old.ws?.readyState !== 1) await new Promise((r) => setTimeout(r, 10));
    // The old agent dies while its hello still waits for the store; the restarted one connects.
    await old.close();
    const agent = new FakeAgent({ url: g.url, bearer: 'd'.repeat(43), helloTimeoutMs: 10_000 });
    open.push(agent);
    const hello = agent.connect();
    while (agent.ws?.readyState !== 1) await new Promise((r) => setTimeout(r, 10));
    g.release();
    expect(await hello).toMatchObject({ type: 'hello', host_id: 'h1' });
    // The old connection's queue (its hello, then its end) ran before the new hello came back.
    expect(g.offline).toEqual([]);
    await agent.close();
    while (g.offline.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(g.offline).toEqual(['h1']);
  });
});
