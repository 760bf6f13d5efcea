import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Engine, LsEntry, LsRequest } from '@restic-manager/engines';
import { createLogger } from '../src/log.js';
import { RequestHandler } from '../src/jobs/requests.js';

/** An engine whose `ls` yields the given nodes (restic prints the directory itself first). */
function lsEngine(nodes: LsEntry[], seen: LsRequest[], consumed: { n: number }): Engine {
  return {
    ls: (_c: unknown, req: LsRequest) => {
      seen.push(req);
      return {
        entries: (async function* () {
          for (const n of nodes) {
            consumed.n++;
            yield n;
          }
        })(),
        result: Promise.resolve({ ok: true, value: { count: nodes.length } }),
      };
    },
  } as unknown as Engine;
}

const node = (p: string, type: LsEntry['type'] = 'file'): LsEntry => ({ name: p.split('/').pop() ?? '', path: p, type, size: 5, mode: 0o644, mtime: '2026-01-01T00:00:00Z' });

async function ask(engine: Engine, path: string, limit: number, offset: number): Promise<Record<string, unknown>> {
  const sent: Record<string, unknown>[] = [];
  const h = new RequestHandler({ engine: async () => engine, jobFilesDir: '/nonexistent/job-files', secrets: () => ({ repository: '/r', password: 'pw-pw-pw' }), send: (f) => sent.push(f), log: createLogger({ write: () => undefined }) });
  h.handle({ type: 'snapshot.ls', request_id: 'r1', snapshot_id: 'abcdef01', path, limit, offset });
  for (let i = 0; i < 100 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  return sent[0]!;
}

describe('snapshot.ls on the agent', () => {
  it('always names the directory (restic lists the whole snapshot recursively otherwise), and pages direct children', async () => {
    const seen: LsRequest[] = [];
    const consumed = { n: 0 };
    const nodes = [node('/srv', 'dir'), node('/srv/a'), node('/srv/b'), node('/srv/c'), node('/srv/d')];
    const r = await ask(lsEngine(nodes, seen, consumed), '/srv/', 2, 1);
    expect(seen[0]).toMatchObject({ snapshot: 'abcdef01', path: '/srv' });
    expect(r).toMatchObject({ type: 'snapshot.ls.result', request_id: 'r1', has_more: true, error: null });
    expect((r.entries as { name: string }[]).map((e) => e.name)).toEqual(['b', 'c']);
    expect(consumed.n).toBe(5); // stopped right after the first entry past the page
    const root: LsRequest[] = [];
    await ask(lsEngine([node('/srv', 'dir')], root, { n: 0 }), '/', 10, 0);
    expect(root[0]?.path).toBe('/');
  });

  it('later pages of a directory come from memory: one restic ls for every page; another directory lists again', async () => {
    const seen: LsRequest[] = [];
    const consumed = { n: 0 };
    const nodes = [node('/big', 'dir'), ...Array.from({ length: 1000 }, (_, i) => node(`/big/f${String(i).padStart(4, '0')}`)), node('/other', 'dir')];
    const sent: Record<string, unknown>[] = [];
    const h = new RequestHandler({ engine: async () => lsEngine(nodes, seen, consumed), jobFilesDir: '/nonexistent/job-files', secrets: () => ({ repository: '/r', password: 'pw-pw-pw' }), send: (f) => sent.push(f), log: createLogger({ write: () => undefined }) });
    const page = async (path: string, offset: number): Promise<Record<string, unknown>> => {
      const before = sent.length;
      h.handle({ type: 'snapshot.ls', request_id: `r${offset}`, snapshot_id: 'abcdef01', path, limit: 100, offset });
      for (let i = 0; i < 200 && sent.length === before; i++) await new Promise((r) => setTimeout(r, 5));
      return sent[before]!;
    };
    const names = (r: Record<string, unknown>): string[] => (r.entries as { name: string }[]).map((e) => e.name);
    expect(names(await page('/big', 0))).toHaveLength(100);
    // The first listing reads on after its answer to fill the cache: wait until restic's output is all read.
    for (let i = 0; i < 200 && consumed.n < nodes.length; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setImmediate(r));
    for (const offset of [100, 500, 900]) {
      const r = await page('/big', offset);
      expect(names(r)[0]).toBe(`f${String(offset).padStart(4, '0')}`);
      expect(r.has_more).toBe(offset + 100 < 1000);
    }
    expect(seen).toHaveLength(1);
    await page('/other', 0);
    expect(seen).toHaveLength(2);
  });

  it('a directory over the cache cap is streamed for each page and stops once its page is full', async () => {
    const seen: LsRequest[] = [];
    const consumed = { n: 0 };
    const nodes = [node('/big', 'dir'), ...Array.from({ length: 50 }, (_, i) => node(`/big/f${String(i).padStart(2, '0')}`))];
    const sent: Record<string, unknown>[] = [];
    const h = new RequestHandler({ engine: async () => lsEngine(nodes, seen, consumed), jobFilesDir: '/nonexistent/job-files', secrets: () => ({ repository: '/r', password: 'pw-pw-pw' }), send: (f) => sent.push(f), log: createLogger({ write: () => undefined }), lsCacheMaxEntries: 20 });
    for (const offset of [0, 30]) {
      const before = sent.length;
      h.handle({ type: 'snapshot.ls', request_id: `r${offset}`, snapshot_id: 'abcdef01', path: '/big', limit: 10, offset });
      for (let i = 0; i < 200 && sent.length === before; i++) await new Promise((r) => setTimeout(r, 5));
      expect((sent[before]!.entries as { name: string }[]).map((e) => e.name)[0]).toBe(`f${offset === 0 ? '00' : '30'}`);
    }
    expect(seen).toHaveLength(2);
    expect(consumed.n).toBeLessThan(2 * nodes.length); // the second listing stopped after its page
  });

  it('answers not_found for a path that is not a directory of the snapshot', async () => {
    expect(await ask(lsEngine([], [], { n: 0 }), '/nope', 10, 0)).toMatchObject({ error_kind: 'not_found', error: expect.stringMatching(/does not exist/) });
    expect(await ask(lsEngine([node('/etc/hosts')], [], { n: 0 }), '/etc/hosts', 10, 0)).toMatchObject({ error_kind: 'not_found', error: expect.stringMatching(/not a directory/) });
  });
});

describe('repo.test on the agent (the answer mapping; real restic, sshd and servers: repositories.test.ts)', () => {
  async function test(result: unknown, repository: object): Promise<{ answer: Record<string, unknown>; seen: Record<string, unknown>[]; dir: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-repo-test-'));
    const seen: Record<string, unknown>[] = [];
    const engine = { snapshots: async (c: Record<string, unknown>) => (seen.push(c), result) } as unknown as Engine;
    const sent: Record<string, unknown>[] = [];
    const h = new RequestHandler({ engine: async () => engine, jobFilesDir: path.join(dir, 'job-files'), secrets: () => null, send: (f) => sent.push(f), log: createLogger({ write: () => undefined }) });
    h.handle({ type: 'repo.test', request_id: 'q1', repository: repository as never });
    for (let i = 0; i < 200 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    return { answer: sent[0]!, seen, dir };
  }
  const local = { id: 'r', name: 'r', engine: 'restic', url: '/srv/repo', password: 'pw-pw-pw-pw', credentials: { backend: 'local' } };
  const lockErr = { ok: false, error: { kind: 'lock_failed', command: 'snapshots', exitCode: 1, message: 'unable to create lock in backend: repository is already locked exclusively by PID 7', stderrTail: [] } };

  it('a repository held exclusively by another process opens (ok, count unknown); the answer keeps the request id', async () => {
    const { answer, seen, dir } = await test(lockErr, local);
    expect(answer).toEqual({ type: 'repo.test.result', request_id: 'q1', ok: true, empty: false, snapshot_count: null, error_kind: null, error: null });
    expect(seen[0]).toMatchObject({ repository: '/srv/repo', password: 'pw-pw-pw-pw', noCache: true });
    expect(fs.readdirSync(path.join(dir, 'job-files'))).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a repository the schema refuses is answered failed naming the field, before anything runs', async () => {
    const { answer, seen, dir } = await test(lockErr, { ...local, engine: 'borg' });
    expect(answer).toMatchObject({ ok: false, error_kind: 'failed', error: expect.stringMatching(/repository\.engine/) });
    expect(seen).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
