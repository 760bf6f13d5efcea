import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { enrolledAgent, eventually, useHarness } from './helpers/harness.js';

/*
 * Issue 13 finding 7: agent frame floods. Lines of a finished job are not stored, a running
 * job's log is bounded (one marker, the rest dropped and counted), and a connection that sends
 * frames faster than the documented rate is closed with 4008 while other agents carry on.
 * Each agent here is a raw protocol client (FakeAgent over a real WebSocket).
 */
const LINES = 50;

async function runningJob(h: Harness, agent: FakeAgent, hostId: string): Promise<string> {
  const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'check', args: {} });
  expect(run.status, run.text).toBe(202);
  await agent.next('command.run');
  const id = run.body.job.id as string;
  agent.started(id, 'check');
  await eventually(async () => (await h.admin.req('GET', `/api/jobs/${id}`)).body.status === 'running');
  return id;
}

/** Frames of one connection are applied in order: once this answer arrives, all before it were applied. */
async function drained(agent: FakeAgent): Promise<void> {
  agent.send({ type: 'job.started', job_id: randomUUID(), seq: 0, kind: 'check', started_at: new Date().toISOString() });
  expect(await agent.next('error', 30_000)).toMatchObject({ code: 'not_found' });
}

const logsOf = async (h: Harness, id: string) => (await h.admin.req('GET', `/api/jobs/${id}/logs?limit=5000`)).body.items as { seq: number; stream: string; payload: string }[];
const open = (a: FakeAgent) => a.ws?.readyState === a.ws?.OPEN;

describe('agent frame floods', () => {
  const h = useHarness({}, { jobLogLimits: { maxLines: LINES, maxBytes: 20_000 } });

  it('stores no log line for a job that already finished (a flood after job.finished is dropped, logged once)', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'flood-finished');
    await agent.connect();
    const id = await runningJob(h, agent, hostId);
    agent.finished(id, 'failed', { error: 'boom', error_kind: 'failed' });
    await eventually(async () => (await h.admin.req('GET', `/api/jobs/${id}`)).body.status === 'failed');
    for (let i = 0; i < 1500; i++) agent.logLine(id, `late line ${i}`);
    await drained(agent);
    expect(await logsOf(h, id)).toEqual([]);
    expect(h.logs().split('\n').filter((l) => l.includes(id) && l.includes('log line for a job that already ended')).length).toBe(1);
    expect(agent.received.filter((m) => m.type === 'error')).toEqual([]);
    expect(open(agent)).toBe(true);
    await agent.close();
  });

  it('bounds the stored log of a running job: the quota, one truncation marker, the rest dropped and counted', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'flood-running');
    await agent.connect();
    const id = await runningJob(h, agent, hostId);
    for (let i = 0; i < 300; i++) agent.logLine(id, `line ${i}`);
    await drained(agent);
    const stored = await logsOf(h, id);
    expect(stored).toHaveLength(LINES + 1);
    expect(stored.slice(0, LINES).map((l) => l.payload)).toEqual(Array.from({ length: LINES }, (_, i) => `line ${i}`));
    expect(stored[LINES]).toMatchObject({ stream: 'event', payload: expect.stringMatching(new RegExp(`^log truncated after ${LINES} lines`)) });
    agent.finished(id, 'succeeded');
    await eventually(async () => (await h.admin.req('GET', `/api/jobs/${id}`)).body.status === 'succeeded');
    const after = await logsOf(h, id);
    expect(after).toHaveLength(LINES + 1);
    expect(after[LINES]!.payload).toMatch(/; 250 later lines were dropped$/);
    await agent.close();
  });

  it('truncates by bytes as well as by lines', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'flood-bytes');
    await agent.connect();
    const id = await runningJob(h, agent, hostId);
    for (let i = 0; i < 40; i++) agent.logLine(id, String(i % 10).repeat(1000));
    await drained(agent);
    const stored = await logsOf(h, id);
    expect(stored).toHaveLength(21);
    expect(stored[20]!.payload).toMatch(/^log truncated after 20 lines \(limit 20000 bytes per job\); 1 later line was dropped$/);
    await agent.close();
  });
});

describe('agent frame rate limit', () => {
  const h = useHarness({}, { agentFrameRate: { burst: 300, perSecond: 50 } });

  it('closes a flooding connection with 4008 rate_limited; a well-behaved agent is unaffected and the flooder may reconnect', async () => {
    const good = await enrolledAgent(h, 'calm');
    await good.agent.connect();
    const flood = await enrolledAgent(h, 'noisy');
    await flood.agent.connect();
    const id = await runningJob(h, good.agent, good.hostId);

    for (let i = 0; i < 20_000; i++) flood.agent.heartbeat();
    expect(await flood.agent.next('error', 15_000)).toMatchObject({ code: 'rate_limited' });
    expect(await flood.agent.closed).toEqual({ code: 4008, reason: 'rate_limited' });
    expect(h.logs()).toMatch(/agent frame rate limit exceeded; closing the connection \(4008\)/);

    for (let i = 0; i < 5; i++) good.agent.logLine(id, `calm ${i}`);
    good.agent.finished(id, 'succeeded');
    await eventually(async () => (await h.admin.req('GET', `/api/jobs/${id}`)).body.status === 'succeeded');
    expect(await logsOf(h, id)).toHaveLength(5);
    expect(open(good.agent)).toBe(true);
    expect(good.agent.received.filter((m) => m.type === 'error')).toEqual([]);

    const back = new FakeAgent({ url: h.url, bearer: flood.bearer, hostname: 'noisy' });
    expect(await back.connect()).toMatchObject({ type: 'hello', host_id: flood.hostId });
    await back.close();
    await good.agent.close();
  }, 30_000);
});
