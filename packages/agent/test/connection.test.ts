import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import selfsigned from 'selfsigned';
import { Backoff, judgeHealth, readStatus, statePaths } from '@restic-manager/agent';
import { BEARER, until } from './helpers/fixture.js';
import { testFixture, testServer } from './helpers/per-test.js';
import { scriptEngine } from './helpers/script-engine.js';

describe('backoff', () => {
  it('doubles up to the cap with jitter inside [base/2, base]', () => {
    const lo = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => lo.next())).toEqual([50, 100, 200, 400, 500, 500]);
    const hi = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
    expect([1, 2, 3, 4, 5].map(() => hi.next())).toEqual([100, 200, 400, 800, 1000]);
    hi.reset();
    expect(hi.next()).toBe(100);
  });
});

describe('connection', () => {
  it('authenticates with the bearer, says hello with protocol_version, heartbeats, and reports healthy', async () => {
    const server = await testServer();
    const fx = testFixture(server.url());
    await fx.start(scriptEngine({ script: 'true' }));
    const hello = await server.waitFor((f) => f.type === 'hello');
    expect(hello).toMatchObject({ protocol_version: 1, agent_version: '0.1.0', active_job_ids: [] });
    expect(typeof hello.hostname).toBe('string');
    expect(server.authHeaders[0]).toBe(`Bearer ${BEARER}`);
    const hb = await server.waitFor((f) => f.type === 'heartbeat');
    expect(hb.running_job_ids).toEqual([]);
    await until(() => readStatus(statePaths(fx.dir).status)?.state === 'ready', 5000, 'status ready');
    expect(judgeHealth(readStatus(statePaths(fx.dir).status))).toEqual({ healthy: true, reason: 'connected to the server' });
    expect(fx.logs.join('')).not.toContain(BEARER);
  });

  it('hello claims a job whose job.finished is still in the outbox, not one with only a job.queued left by a kill -9 (the server fails that one as agent_lost)', async () => {
    const server = await testServer();
    const fx = testFixture(server.url());
    // What a kill -9 right after reporting job.queued leaves: the report, and no active-jobs entry.
    const at = new Date().toISOString();
    fs.writeFileSync(statePaths(fx.dir).outbox, [
      { type: 'job.queued', job_id: 'lost-queued', seq: 0, kind: 'restore', reason: 'waiting', queued_at: at, outbox_seq: 1 },
      { type: 'job.finished', job_id: 'done-offline', seq: 3, status: 'succeeded', exit_code: 0, stats: null, error: null, error_kind: null, finished_at: at, outbox_seq: 2 },
    ].map((f) => `${JSON.stringify(f)}\n`).join(''));
    await fx.start(scriptEngine({ script: 'true' }));
    const hello = await server.waitFor((f) => f.type === 'hello');
    expect(hello.active_job_ids).toEqual(['done-offline']);
  });

  it('refuses a server protocol version it does not know, with a clear log line, and runs nothing', async () => {
    const server = await testServer();
    server.protocolVersion = 99;
    const fx = testFixture(server.url());
    const calls: { method: string }[] = [];
    await fx.start(scriptEngine({ script: 'true', calls: calls as never }));
    await until(() => fx.logs.some((l) => l.includes('refusing to proceed: server speaks protocol version 99')), 5000, 'refusal log');
    expect(readStatus(statePaths(fx.dir).status)?.state).toBe('refused');
    server.send({ type: 'command.run', job_id: 'j1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toEqual([]);
    expect(server.frames.filter((f) => f.type !== 'hello')).toEqual([]);
    const verdict = judgeHealth(readStatus(statePaths(fx.dir).status));
    expect(verdict.healthy).toBe(false);
    expect(verdict.reason).toMatch(/protocol version 99/);
  });

  it('reconnects with backoff after the server goes away', async () => {
    const server = await testServer();
    const port = server.port;
    const fx = testFixture(server.url());
    const agent = await fx.start(scriptEngine({ script: 'true' }));
    await server.waitFor((f) => f.type === 'hello');
    await server.close();
    await until(() => agent.connection.getState() !== 'ready', 5000, 'disconnect');
    const v = judgeHealth(readStatus(statePaths(fx.dir).status));
    expect(v).toMatchObject({ healthy: true });
    expect(v.reason).toMatch(/reconnecting/);
    const again = await testServer({ port });
    await again.waitFor((f) => f.type === 'hello', 10_000);
    await until(() => agent.connection.isReady(), 5000, 'reconnected');
  });

  it('backs off when the server closes it for sending too fast (4008 rate_limited), then reconnects', async () => {
    const server = await testServer();
    const fx = testFixture(server.url());
    const agent = await fx.start(scriptEngine({ script: 'true' }), { rateLimitBackoff: { initialMs: 1000, maxMs: 1000 } });
    await server.waitFor((f) => f.type === 'hello');
    await until(() => agent.connection.isReady(), 5000, 'ready');
    const closedAt = Date.now();
    server.sockets[0]!.close(4008, 'rate_limited');
    await until(() => server.frames.filter((f) => f.type === 'hello').length === 2, 10_000, 'second hello');
    // Equal jitter: at least half the rate-limit backoff, where the ordinary backoff is 50 ms.
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(500);
    expect(fx.logs.join('')).toMatch(/the server closed the connection for sending too fast \(4008\)/);
    await until(() => agent.connection.isReady(), 5000, 'reconnected');
  });

  describe('TLS certificate pinning', () => {
    let pems: { private: string; cert: string };
    let pin = '';
    beforeAll(async () => {
      pems = await Promise.resolve(selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], { keySize: 2048 }));
      const der = Buffer.from(pems.cert.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      pin = createHash('sha256').update(der).digest('hex');
    });

    it('connects to a self-signed server whose certificate matches the pin', async () => {
      const server = await testServer({ tls: { key: pems.private, cert: pems.cert } });
      const fx = testFixture(server.url('https'), pin.toUpperCase().match(/../g)!.join(':'));
      const agent = await fx.start(scriptEngine({ script: 'true' }));
      await server.waitFor((f) => f.type === 'hello');
      await until(() => agent.connection.isReady(), 5000, 'ready');
    });

    it('refuses a certificate that does not match the pin, before sending anything', async () => {
      const server = await testServer({ tls: { key: pems.private, cert: pems.cert } });
      const fx = testFixture(server.url('https'), 'ab'.repeat(32));
      await fx.start(scriptEngine({ script: 'true' }));
      await until(() => fx.logs.some((l) => l.includes('does not match the pinned')), 5000, 'pin mismatch log');
      expect(readStatus(statePaths(fx.dir).status)?.state).toBe('refused');
      expect(server.authHeaders).toEqual([]);
      expect(server.frames).toEqual([]);
    });
  });
});
