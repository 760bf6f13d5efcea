import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '@restic-manager/protocol';
import { LocalMedium } from '../src/cluster/bus.js';
import { ClusterAgentLink } from '../src/cluster/cluster-agent-link.js';
import { AgentRegistry } from '../src/ws/agent-registry.js';

/** A socket stand-in that records what it was sent and how it was closed. */
function fakeSocket(): WebSocket & { sent: string[]; closedWith: [number, string] | null } {
  const s = { OPEN: 1, readyState: 1, sent: [] as string[], closedWith: null as [number, string] | null,
    send(d: string) { s.sent.push(d); },
    close(code: number, reason: string) { s.closedWith = [code, reason]; s.readyState = 3; } };
  return s as unknown as WebSocket & { sent: string[]; closedWith: [number, string] | null };
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function replica(medium: LocalMedium, name: string, o: { heartbeatMs?: number; now?: () => number; gone?: string[][] } = {}) {
  const registry = new AgentRegistry();
  const link = new ClusterAgentLink(registry, medium.open(name), { heartbeatMs: o.heartbeatMs ?? 60_000, ...(o.now ? { now: o.now } : {}), onReplicaGone: (ids) => o.gone?.push(ids) });
  registry.onPresence = (h, up) => link.localPresence(h, up);
  const kicks: string[] = [];
  link.onKick = (h) => kicks.push(h);
  const connect = (host: string) => {
    const ws = fakeSocket();
    registry.add(host, ws);
    registry.markReady(host, ws);
    return ws;
  };
  return { registry, link, kicks, connect };
}

const frame = (n: number): ServerMessage => ({ type: 'command.cancel', job_id: `job-${n}` }) as ServerMessage;

describe('ClusterAgentLink: agents held by other replicas', () => {
  it('learns where an agent is from "up", relays frames to the replica holding it, and forgets it on "down"', async () => {
    const m = new LocalMedium();
    const a = replica(m, 'a');
    const b = replica(m, 'b');
    expect(b.link.isConnected('h1')).toBe(false);
    const ws = a.connect('h1');
    await until(() => b.link.isConnected('h1'));
    expect(b.link.isLocal('h1')).toBe(false);
    expect(b.link.send('h1', frame(1))).toBe(true);
    await until(() => ws.sent.length === 1);
    expect(JSON.parse(ws.sent[0]!)).toEqual({ type: 'command.cancel', job_id: 'job-1' });
    b.link.disconnect('h1', 4001, 'host deleted');
    await until(() => ws.closedWith !== null);
    expect(ws.closedWith).toEqual([4001, 'host deleted']);
    await until(() => !b.link.isConnected('h1'));
    expect(b.link.send('h1', frame(2))).toBe(false);
  });

  it('a replica that starts late learns the others\' agents from the heartbeats its hello asks for', async () => {
    const m = new LocalMedium();
    const a = replica(m, 'a');
    a.connect('h1');
    a.connect('h2');
    const c = replica(m, 'c');
    await c.link.start();
    await until(() => c.link.isConnected('h1') && c.link.isConnected('h2'));
    expect([...c.link.fleetHostIds()].sort()).toEqual(['h1', 'h2']);
    c.link.stop();
  });

  it('a replica silent for three heartbeats is gone: its agents are reported and no longer reachable', async () => {
    const m = new LocalMedium();
    let now = 1_000_000;
    const gone: string[][] = [];
    const a = replica(m, 'a');
    const b = replica(m, 'b', { heartbeatMs: 20, now: () => now, gone });
    a.connect('h1');
    await until(() => b.link.isConnected('h1'));
    await b.link.start(); // a answered b's hello while the clock still read its time
    now += 61; // a says nothing more (killed): three of b's heartbeats later it is gone
    await until(() => gone.length === 1);
    expect(gone[0]).toEqual(['h1']);
    expect(b.link.isConnected('h1')).toBe(false);
    b.link.stop();
  });

  it('start resolves once every replica already on the medium has answered the hello; they count it as a peer from then on', async () => {
    const m = new LocalMedium();
    const a = replica(m, 'a');
    const b = replica(m, 'b');
    expect(a.link.hasPeers()).toBe(false);
    const mute = m.open('mute'); // a bus with no presence of its own: never answers
    const c = replica(m, 'c', { heartbeatMs: 20 });
    const t = Date.now();
    await c.link.start();
    expect(a.link.hasPeers() && b.link.hasPeers()).toBe(true);
    expect(Date.now() - t).toBeGreaterThanOrEqual(55); // waited for the mute one until it counts as gone (3 heartbeats)
    await mute.close();
    const d = replica(m, 'd', { heartbeatMs: 20 });
    const t2 = Date.now();
    await d.link.start();
    expect(Date.now() - t2).toBeLessThan(55);
    c.link.stop();
    d.link.stop();
  });

  it("each replica's heartbeat carries its URL: the holder of an agent is known with it (downloads through it); a bad URL is none", async () => {
    const m = new LocalMedium();
    const a = replica(m, 'a');
    const b = replica(m, 'b');
    a.connect('h1');
    void a.link.start('http://10.0.0.5:8080');
    await until(() => b.link.holder('h1')?.url === 'http://10.0.0.5:8080');
    expect(b.link.holder('h1')).toEqual({ replica: 'a', url: 'http://10.0.0.5:8080' });
    expect(b.link.holder('h2')).toBeNull();
    expect(b.link.otherReplicas()).toBe(1);
    const evil = m.open('evil');
    evil.publish('presence', { kind: 'heartbeat', hosts: ['h9'], url: 'file:///etc/passwd' });
    await until(() => b.link.holder('h9') !== null);
    expect(b.link.holder('h9')).toEqual({ replica: 'evil', url: null });
    a.link.stop();
  });

  it('a job that cannot be sent asks the other replicas; only the one holding the agent dispatches', async () => {
    const m = new LocalMedium();
    const a = replica(m, 'a');
    const b = replica(m, 'b');
    const c = replica(m, 'c');
    a.connect('h1');
    c.link.unreached('h1');
    await until(() => a.kicks.length === 1);
    expect(a.kicks).toEqual(['h1']);
    expect(b.kicks).toEqual([]);
  });

  it('hostile presence messages change nothing (bad ids, huge lists, wrong shapes)', async () => {
    const m = new LocalMedium();
    const b = replica(m, 'b');
    const evil = m.open('evil');
    evil.publish('presence', { kind: 'up', host_id: 'x'.repeat(65) });
    evil.publish('presence', { kind: 'up', host_id: 42 });
    evil.publish('presence', { kind: 'heartbeat', hosts: 'h1' });
    evil.publish('presence', null);
    evil.publish('agent.frame', { host_id: 'h1', msg: 'not an object' });
    evil.publish('presence', { kind: 'up', host_id: 'ok-host' });
    await until(() => b.link.isConnected('ok-host'));
    expect([...b.link.fleetHostIds()]).toEqual(['ok-host']);
  });
});
