import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '@restic-manager/protocol';
import { DOWNLOAD_CHUNK_BYTES, encodeDownloadChunk } from '@restic-manager/protocol';
import type { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { enrolledAgent, eventually, startHarness } from './helpers/harness.js';
import { DOWNLOAD_WINDOW } from '../src/services/download-streams.js';

/*
 * Download from a snapshot through the server, with a scripted agent on the other end of the
 * socket: headers, flow control (credit), the size limit, and an agent that breaks the protocol.
 * The real agent + restic + the 200 MB tar are in e2e/download.test.ts.
 */

const SNAP = 'dddd0001'.padEnd(64, '0');
const LIMIT = 50 * 1024 * 1024;
type Start = Extract<ServerMessage, { type: 'download.start' }>;

/** How the scripted agent answers one download.start. */
type Script = (m: Start, ag: FakeAgent) => void;

describe('snapshot download API (fake agent)', () => {
  let h: Harness;
  let a: { agent: FakeAgent; hostId: string };
  let script: Script = () => undefined;
  const starts: Start[] = [];
  const cancels: string[] = [];
  const credits = new Map<string, number>();
  const errors: string[] = [];

  beforeAll(async () => {
    h = await startHarness({ downloadMaxBytes: LIMIT }, { downloadTimeouts: { readyMs: 3000, stallMs: 3000 } });
    a = await enrolledAgent(h, 'dl-a', { url: '/srv/restic/dl-a', password: 'download-repo-password-1', append_only: false });
    await a.agent.connect();
    a.agent.send({ type: 'snapshots.report', snapshots: [{ id: SNAP, short_id: 'dddd0001', time: '2026-01-01T00:00:00Z', hostname: 'a', paths: ['/srv'], tags: [] }] });
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots`)).body.total === 1);
    a.agent.o.onMessage = (m, ag) => {
      if (m.type === 'download.start') {
        starts.push(m);
        script(m, ag);
      }
      if (m.type === 'download.cancel') cancels.push(m.request_id);
      if (m.type === 'download.credit') credits.set(m.request_id, (credits.get(m.request_id) ?? 0) + m.chunks);
      if (m.type === 'error') errors.push(m.message);
    };
  });
  afterAll(async () => {
    await a.agent.close();
    await h.close();
  });

  const url = (q: string, snap = 'dddd0001') => `${h.url}/api/hosts/${a.hostId}/snapshots/${snap}/download?${q}`;
  const get = (q: string, init: RequestInit = {}) => fetch(url(q), { ...init, headers: { cookie: `rm_session=${h.admin.cookie!}` } });
  const chunk = (id: string, seq: number, data: Buffer) => encodeDownloadChunk(id, seq, [data], data.length);
  /** Sends `data` as chunks, never more than the credit the server granted (window + download.credit). */
  const sendAll = async (m: Start, ag: FakeAgent, data: Buffer): Promise<number> => {
    let seq = 0;
    for (let at = 0; at < data.length; at += DOWNLOAD_CHUNK_BYTES) {
      await eventually(async () => seq < m.window + (credits.get(m.request_id) ?? 0), 10_000);
      ag.ws!.send(chunk(m.request_id, seq++, data.subarray(at, at + DOWNLOAD_CHUNK_BYTES)));
    }
    return seq;
  };
  const stream = (data: Buffer, kind: 'file' | 'dir', entries = 1): Script => (m, ag) => {
    ag.send({ type: 'download.ready', request_id: m.request_id, kind, size: data.length, entries });
    void sendAll(m, ag, data).then((chunks) => ag.send({ type: 'download.end', request_id: m.request_id, bytes: data.length, chunks }));
  };

  it('streams a file as itself: Content-Length, a safe Content-Disposition, the exact bytes, and an audit row', async () => {
    const data = randomBytes(3 * DOWNLOAD_CHUNK_BYTES + 1234);
    script = stream(data, 'file');
    const r = await get(`path=${encodeURIComponent('//srv/data/re"port ü.bin/')}&format=raw`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(r.headers.get('content-length')).toBe(String(data.length));
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="re_port _.bin"; filename*=UTF-8''re_port%20%C3%BC.bin`);
    expect(Buffer.from(await r.arrayBuffer()).equals(data)).toBe(true);
    expect(starts.at(-1)).toMatchObject({ snapshot_id: SNAP, path: '/srv/data/re"port ü.bin', format: 'raw', max_bytes: LIMIT, window: DOWNLOAD_WINDOW });
    const audit = await eventually(async () => (await h.admin.req('GET', '/api/audit?action=snapshot.download')).body.items?.[0]);
    expect(audit).toMatchObject({ actor_name: 'admin', target_id: a.hostId, payload: { host: 'dl-a', snapshot_id: SNAP, path: '/srv/data/re"port ü.bin', bytes: data.length, outcome: 'completed' } });
    expect(JSON.stringify(audit)).not.toContain('download-repo-password-1');
  });

  it('names a folder archive <folder>.zip / .tar with its content type and no length', async () => {
    const data = randomBytes(5000);
    script = stream(data, 'dir', 3);
    const r = await get('path=/srv/www&format=zip');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/zip');
    expect(r.headers.get('content-disposition')).toContain('filename="www.zip"');
    expect(Buffer.from(await r.arrayBuffer()).equals(data)).toBe(true);
    const root = await get('path=/');
    expect(root.headers.get('content-disposition')).toContain('filename="snapshot-dddd0001.tar"');
    expect(root.headers.get('content-type')).toBe('application/x-tar');
    await root.arrayBuffer();
  });

  it('back-pressure: a browser that stops reading stops the agent, which then has sent no more than the window ahead of it', async () => {
    // More than the window plus what the sockets between server and browser may hold, so an agent
    // that ignored credit would send it all. The exact bound (window chunks ahead of what the HTTP
    // answer took) is asserted without sockets in download-streams.test.ts.
    const total = 160;
    // What the sockets and stream buffers between the server and a browser that does not read hold:
    // about 8 MiB measured on loopback (tcp_wmem max 4 MiB); twice that is allowed.
    const TRANSPORT = 16 * 1024 * 1024;
    const data = randomBytes(total * DOWNLOAD_CHUNK_BYTES);
    let sent = 0;
    let changed = Date.now();
    script = (m, ag) => {
      ag.send({ type: 'download.ready', request_id: m.request_id, kind: 'file', size: data.length, entries: 1 });
      void (async () => {
        for (let seq = 0; seq < total; seq++) {
          await eventually(async () => seq < m.window + (credits.get(m.request_id) ?? 0), 30_000);
          ag.ws!.send(chunk(m.request_id, seq, data.subarray(seq * DOWNLOAD_CHUNK_BYTES, (seq + 1) * DOWNLOAD_CHUNK_BYTES)));
          sent++;
          changed = Date.now();
        }
        ag.send({ type: 'download.end', request_id: m.request_id, bytes: data.length, chunks: total });
      })();
    };
    const r = await get('path=/srv/big.bin');
    expect(r.status).toBe(200);
    const id = starts.at(-1)!.request_id;
    const reader = r.body!.getReader();
    const got: Uint8Array[] = [];
    try {
      got.push((await reader.read()).value!);
      // The browser took one piece and reads no more: the agent spends its credit and then waits.
      await eventually(async () => sent === DOWNLOAD_WINDOW + (credits.get(id) ?? 0) && Date.now() - changed > 500, 20_000);
      expect(sent).toBeLessThan(total);
      expect(sent * DOWNLOAD_CHUNK_BYTES).toBeLessThanOrEqual(got[0]!.length + DOWNLOAD_WINDOW * DOWNLOAD_CHUNK_BYTES + TRANSPORT);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        got.push(value);
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    expect(Buffer.concat(got).equals(data)).toBe(true);
  });

  it('refuses a path over RM_DOWNLOAD_MAX_BYTES with 413 naming its size and the limit', async () => {
    script = (m, ag) => ag.send({ type: 'download.end', request_id: m.request_id, bytes: 0, chunks: 0, error: 'over the limit', error_kind: 'too_large', size: 3 * 1024 ** 3 });
    const r = await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots/dddd0001/download?path=/srv&format=tar`);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('too_large');
    expect(r.body.error.message).toContain('3.0 GiB (3221225472 bytes)');
    expect(r.body.error.message).toContain('download limit of 50.0 MiB (RM_DOWNLOAD_MAX_BYTES)');
    // An agent that announces more than the limit anyway is refused by the server itself.
    script = (m, ag) => ag.send({ type: 'download.ready', request_id: m.request_id, kind: 'dir', size: LIMIT + 1, entries: 2 });
    const lying = await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots/dddd0001/download?path=/srv`);
    expect(lying.status).toBe(413);
    expect(cancels).toContain(starts.at(-1)!.request_id);
  });

  it('maps the agent refusals: no such path 404, a folder asked as raw 400, and names them', async () => {
    script = (m, ag) => ag.send({ type: 'download.end', request_id: m.request_id, bytes: 0, chunks: 0, error: '/srv/nope does not exist in snapshot dddd0001', error_kind: 'not_found' });
    const nf = await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots/dddd0001/download?path=/srv/nope`);
    expect([nf.status, nf.body.error.message]).toEqual([404, '/srv/nope does not exist in snapshot dddd0001']);
    script = (m, ag) => ag.send({ type: 'download.end', request_id: m.request_id, bytes: 0, chunks: 0, error: '/srv is a folder: download it as tar or zip', error_kind: 'not_a_file' });
    const raw = await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots/dddd0001/download?path=/srv&format=raw`);
    expect(raw.status).toBe(400);
  });

  it('refuses odd paths, unknown snapshots and bad formats before asking the agent', async () => {
    const before = starts.length;
    for (const p of ['/srv/../etc/shadow', 'relative/path', '/srv/./x', '/srv/a%00b', '/srv/%0a']) {
      const r = await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots/dddd0001/download?path=${p}`);
      expect(r.status, p).toBe(400);
    }
    expect((await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots/dddd0001/download?path=/srv&format=rar`)).status).toBe(400);
    expect((await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots/eeee9999/download?path=/srv`)).status).toBe(404);
    expect((await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots/not-hex/download?path=/srv`)).status).toBe(404);
    expect((await h.admin.req('GET', `/api/hosts/nope/snapshots/dddd0001/download?path=/srv`)).status).toBe(404);
    expect(starts.length).toBe(before);
  });

  it('a viewer may not download', async () => {
    await h.admin.req('POST', '/api/users', { username: 'dl-viewer', password: 'viewer-password-123456', role: 'viewer' });
    const { Api } = await import('./helpers/harness.js');
    const v = new Api(h.url);
    await v.login('dl-viewer', 'viewer-password-123456');
    expect((await v.req('GET', `/api/hosts/${a.hostId}/snapshots/dddd0001/download?path=/srv`)).status).toBe(403);
  });

  it('a browser that goes away cancels the download on the agent, audited as cancelled', async () => {
    const data = randomBytes(2 * DOWNLOAD_WINDOW * DOWNLOAD_CHUNK_BYTES);
    script = (m, ag) => {
      ag.send({ type: 'download.ready', request_id: m.request_id, kind: 'file', size: data.length, entries: 1 });
      void sendAll(m, ag, data.subarray(0, DOWNLOAD_WINDOW * DOWNLOAD_CHUNK_BYTES));
    };
    const ctl = new AbortController();
    const r = await get('path=/srv/cancel.bin', { signal: ctl.signal });
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    await reader.read();
    ctl.abort();
    const id = starts.at(-1)!.request_id;
    await eventually(async () => cancels.includes(id));
    a.agent.send({ type: 'download.end', request_id: id, bytes: 0, chunks: 0, error: 'cancelled', error_kind: 'cancelled' });
    const audit = await eventually(async () => (await h.admin.req('GET', '/api/audit?action=snapshot.download')).body.items?.find((x: { payload: { path: string } }) => x.payload.path === '/srv/cancel.bin'));
    expect(audit.payload.outcome).toBe('cancelled');
    await eventually(async () => h.server.services.downloads.openCount() === 0);
  });

  describe('an agent that breaks the protocol fails that download only, with a clear error', () => {
    const broken = async (q: string, misbehave: (m: Start, ag: FakeAgent) => void, expectInError: string, outcome: RegExp): Promise<void> => {
      script = (m, ag) => {
        ag.send({ type: 'download.ready', request_id: m.request_id, kind: 'file', size: 4 * DOWNLOAD_CHUNK_BYTES, entries: 1 });
        misbehave(m, ag);
      };
      errors.length = 0;
      // Broken off before the headers went out, the answer is a 500; after, the transfer is cut.
      const got = await get(q).then((r) => r.arrayBuffer().then((b) => (r.status === 500 ? 'broken off' : `status ${r.status}, ${b.byteLength} bytes`)), () => 'broken off').catch(() => 'broken off');
      expect(got).toMatch(outcome);
      await eventually(async () => errors.some((e) => e.includes(expectInError)));
      expect(cancels).toContain(starts.at(-1)!.request_id);
      expect((await h.admin.req('GET', `/api/hosts/${a.hostId}`)).body.status).toBe('online');
      expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    };

    it('chunks out of order: the transfer breaks off', () => broken('path=/srv/x2', (m, ag) => {
      ag.ws!.send(chunk(m.request_id, 0, Buffer.alloc(16)));
      ag.ws!.send(chunk(m.request_id, 2, Buffer.alloc(16)));
    }, 'out of order', /^broken off$/));

    it('more bytes than the file it announced: the browser never gets more than announced', () => broken('path=/srv/x3', (m, ag) => {
      for (let i = 0; i < 5; i++) ag.ws!.send(chunk(m.request_id, i, Buffer.alloc(DOWNLOAD_CHUNK_BYTES)));
    }, 'past the announced size', /^(broken off|status 200, 1048576 bytes)$/));

    it('an end that does not add up: the transfer breaks off', () => broken('path=/srv/x4', (m, ag) => {
      ag.ws!.send(chunk(m.request_id, 0, Buffer.alloc(100)));
      ag.send({ type: 'download.end', request_id: m.request_id, bytes: 4 * DOWNLOAD_CHUNK_BYTES, chunks: 4 });
      errors.push('end does not add up'); // the server answers this on the HTTP side only
    }, 'end does not add up', /^broken off$/));

    it('a failure before the first byte is a JSON error, not a broken 200', async () => {
      script = (m, ag) => {
        ag.send({ type: 'download.ready', request_id: m.request_id, kind: 'file', size: 10, entries: 1 });
        ag.ws!.send(chunk(m.request_id, 5, Buffer.alloc(10)));
      };
      const r = await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots/dddd0001/download?path=/srv/x5`);
      expect(r.status).toBe(409);
      expect(r.body.error.message).toBe('the agent sent chunk 5 where 0 was due');
    });

    it('malformed and oversized binary frames are answered as bad frames; the socket stays up', async () => {
      errors.length = 0;
      a.agent.ws!.send(Buffer.from([0x07, 1, 2, 3, 4, 5, 6, 7]));
      a.agent.ws!.send(Buffer.from([0x01, 200, 0, 0]));
      a.agent.ws!.send(chunk('no-such-download', 0, Buffer.alloc(8)));
      a.agent.ws!.send(Buffer.concat([chunk('x', 0, Buffer.alloc(DOWNLOAD_CHUNK_BYTES)), Buffer.alloc(1)]));
      await eventually(async () => errors.length >= 4);
      expect(errors.join('\n')).toMatch(/not a download chunk/);
      expect(errors.join('\n')).toMatch(/no open download/);
      expect(errors.join('\n')).toMatch(/exceeds 262144/);
      expect((await h.admin.req('GET', `/api/hosts/${a.hostId}`)).body.status).toBe('online');
    });
  });
});
