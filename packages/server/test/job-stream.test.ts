import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import type { Harness } from './helpers/harness.js';
import { Api, enrolledAgent, useHarness, dispatchedJob } from './helpers/harness.js';

interface Stream {
  frames: Record<string, unknown>[];
  closed: Promise<number>;
  opened: Promise<void>;
}

function stream(h: Harness, jobId: string, cookie: string | undefined, origin?: string): Stream {
  const headers: Record<string, string> = {};
  if (cookie) headers.cookie = `rm_session=${cookie}`;
  if (origin) headers.origin = origin;
  const ws = new WebSocket(`${h.url.replace('http', 'ws')}/api/jobs/${jobId}/stream`, { headers });
  const frames: Record<string, unknown>[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
  return {
    frames,
    opened: new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    }),
    closed: new Promise((resolve) => ws.on('close', (code) => resolve(code))),
  };
}

describe('browser job stream WS /api/jobs/:id/stream', () => {
  const h = useHarness();

  it('needs a session and a same-origin upgrade', async () => {
    await expect(stream(h, 'x', undefined).opened).rejects.toThrow(/HTTP 401/);
    await expect(stream(h, 'x', h.admin.cookie, 'https://evil.example').opened).rejects.toThrow(/HTTP 403/);
    const s = stream(h, 'no-such-job', h.admin.cookie);
    await s.opened;
    expect(await s.closed).toBe(4404);
  });

  it('fans out progress and log frames unchanged to every subscriber, then closes after job.finished', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'streamed');
    await agent.connect();
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'backup', args: { paths: ['/data'] } });
    const id = run.body.job.id as string;
    await agent.next('command.run');
    const viewer = await h.admin.req('POST', '/api/users', { username: 'watcher', password: 'watcher-password', role: 'viewer' });
    expect(viewer.status).toBe(201);
    const w = new Api(h.url);
    await w.login('watcher', 'watcher-password');
    const a = stream(h, id, h.admin.cookie);
    const b = stream(h, id, w.cookie);
    await Promise.all([a.opened, b.opened]);
    await new Promise((r) => setTimeout(r, 50));
    agent.started(id, 'backup');
    const progress = { type: 'job.progress', job_id: id, seq: 1, percent_done: 0.25, files_done: 1, total_files: 4, bytes_done: 10, total_bytes: 40, eta_seconds: 3, throughput_bps: 5, current_files: ['/data/a'] };
    const log = { type: 'log.stream', job_id: id, seq: 2, ts: new Date().toISOString(), stream: 'stderr', payload: 'warning: x' };
    agent.send(progress);
    agent.send(log);
    agent.send({ type: 'job.finished', job_id: id, seq: 3, status: 'succeeded', exit_code: 0, stats: null, error: null, error_kind: null, finished_at: new Date().toISOString() });
    expect(await a.closed).toBe(1000);
    expect(await b.closed).toBe(1000);
    for (const s of [a, b]) {
      expect(s.frames.map((f) => f.type)).toEqual(['job.started', 'job.progress', 'log.stream', 'job.finished']);
      expect(s.frames[1]).toEqual(progress);
      expect(s.frames[2]).toEqual(log);
    }
    await agent.close();
  });

  it('sends a synthetic job.finished to a subscriber who arrives after the job ended (late-subscriber race)', async () => {
    const { agent, id } = await dispatchedJob(h, 'fast-fail');
    agent.started(id, 'check');
    agent.finished(id, 'failed', { error: 'repository does not exist', error_kind: 'no_repository' });
    for (let i = 0; i < 100 && (await h.admin.req('GET', `/api/jobs/${id}`)).body.status !== 'failed'; i++) await new Promise((r) => setTimeout(r, 20));
    const late = stream(h, id, h.admin.cookie);
    await late.opened;
    expect(await late.closed).toBe(1000);
    expect(late.frames).toEqual([
      expect.objectContaining({ type: 'job.finished', job_id: id, status: 'failed', error_kind: 'no_repository', synthetic: true }),
    ]);
    await agent.close();
  });
});
