import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentMessage, MAX_FRAME_BYTES } from '@restic-manager/protocol';
import { FakeAgent } from '@restic-manager/server/testing';
import { enrolledAgent, useHarness } from './helpers/harness.js';

const TYPES = ['hello', 'heartbeat', 'job.queued', 'job.started', 'job.progress', 'job.finished', 'log.stream', 'snapshots.report', 'repo.stats', 'schedule.ack', 'command.run', 'nope'];
const now = new Date().toISOString();
const TEMPLATES: Record<string, unknown>[] = [
  { type: 'job.started', job_id: 'j', seq: 0, kind: 'backup', started_at: now },
  { type: 'job.progress', job_id: 'j', seq: 1, percent_done: 0.5, files_done: 1, total_files: 2, bytes_done: 1, total_bytes: 2, eta_seconds: 1, throughput_bps: 1 },
  { type: 'job.finished', job_id: 'j', seq: 2, status: 'succeeded', exit_code: 0, stats: null, error: null, finished_at: now },
  { type: 'log.stream', job_id: 'j', seq: 3, ts: now, stream: 'stdout', payload: 'x' },
  { type: 'repo.stats', size_bytes: 1, snapshot_count: 1, dedup_ratio: 1 },
  { type: 'schedule.ack', schedule_version: 1 },
  { type: 'snapshots.report', snapshots: [{ id: 'a'.repeat(64), time: now, hostname: 'h', paths: ['/'] }] },
];

/** Frames that must all be rejected: garbage, random JSON, wrong fields, broken templates. */
const badFrame = fc
  .oneof(
    fc.string({ maxLength: 200 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc.record({ type: fc.constantFrom(...TYPES), extra: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }) }).map(({ type, extra }) => JSON.stringify({ ...extra, type })),
    fc.tuple(fc.constantFrom(...TEMPLATES), fc.nat(), fc.jsonValue({ maxDepth: 2 })).map(([t, i, v]) => {
      const keys = Object.keys(t);
      const k = keys[i % keys.length] ?? 'type';
      return JSON.stringify({ ...t, [k]: v });
    }),
    fc.constantFrom(...TEMPLATES.map((t) => JSON.stringify(t))).map((s) => s.slice(0, Math.floor(s.length / 2))),
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  )
  .filter((f) => {
    if (Buffer.isBuffer(f)) return true;
    try {
      return !AgentMessage.safeParse(JSON.parse(f)).success;
    } catch {
      return true;
    }
  });

describe('agent socket fuzzing', () => {
  const h = useHarness({ logLevel: 'warn' });

  const dbState = async () => {
    const out: Record<string, unknown> = {};
    for (const t of ['hosts', 'jobs', 'job_logs', 'job_events', 'snapshots', 'repos', 'credentials', 'audit_log', 'alerts'] as const) {
      out[t] = await h.server.db.selectFrom(t).selectAll().execute();
    }
    return JSON.stringify(out);
  };

  it('answers thousands of random bad frames with an error frame each, writes nothing, and stays up', async () => {
    const { agent } = await enrolledAgent(h, 'fuzzed');
    await agent.connect();
    await agent.next('schedule.set');
    await new Promise((r) => setTimeout(r, 100));
    const before = await dbState();
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(badFrame, async (frame) => {
        const reply = agent.next('error', 2000);
        if (Buffer.isBuffer(frame)) agent.ws!.send(frame, { binary: true });
        else agent.send(frame);
        sent++;
        const e = await reply;
        expect(['bad_json', 'bad_frame', 'unexpected_hello', 'not_found', 'forbidden']).toContain((e as { code: string }).code);
        expect(agent.ws!.readyState).toBe(1);
      }),
      { numRuns: 3000, seed: 42 },
    );
    expect(sent).toBe(3000);
    expect(await dbState()).toBe(before);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    await agent.close();
  });

  it('closes an oversize frame with 1009, keeps serving, and logs no frame content', async () => {
    const { agent } = await enrolledAgent(h, 'big');
    await agent.connect();
    const secretish = 'S3CRET-IN-BIG-FRAME';
    agent.send(JSON.stringify({ type: 'log.stream', payload: secretish + 'x'.repeat(MAX_FRAME_BYTES) }));
    expect((await agent.closed).code).toBe(1009);
    const again = new FakeAgent({ url: h.url, bearer: agent.o.bearer });
    await again.connect();
    await again.close();
    expect(h.logs()).not.toContain(secretish);
  });
});
