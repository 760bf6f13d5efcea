import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import type { Connection, Engine } from '@restic-manager/engines';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { createLogger } from '../src/log.js';
import { RequestHandler } from '../src/jobs/requests.js';
import { MAX_FRAME_BYTES, parseServerFrame } from '../src/wire.js';
import type { RequestFrame } from '../src/wire.js';

const run = promisify(execFile);
const restic = requireTool('restic');
if (!restic.ok) console.warn(`skipping snapshot.diff / forget.preview tests with real restic: ${restic.reason}`);

const PASSWORD = 'inspect-test-pw-7d2e19';

describe('snapshot.diff and forget.preview frames (light validator)', () => {
  const parse = (f: Record<string, unknown>): ReturnType<typeof parseServerFrame> => parseServerFrame(JSON.stringify(f));

  it('accepts a diff request and names a bad field', () => {
    expect(parse({ type: 'snapshot.diff', request_id: 'r', from_snapshot_id: 'abcdef01', to_snapshot_id: 'abcdef02', limit: 10, offset: 0 }).ok).toBe(true);
    expect(parse({ type: 'snapshot.diff', request_id: 'r', from_snapshot_id: 'abcdef01', to_snapshot_id: 'zz', limit: 10, offset: 0 })).toEqual({ ok: false, message: 'to_snapshot_id: expected 8 to 64 hex digits' });
    expect(parse({ type: 'snapshot.diff', request_id: 'r', from_snapshot_id: 'abcdef01', to_snapshot_id: 'abcdef02', limit: 501, offset: 0 })).toEqual({ ok: false, message: 'limit: expected 1..500' });
  });

  it('accepts a preview policy that keeps something, and refuses one that keeps nothing or has an unknown rule', () => {
    const ok = parse({ type: 'forget.preview', request_id: 'r', policy: { keep_daily: 7, keep_within: '30d', keep_tag: ['x'] }, tags: ['db'] });
    expect(ok).toEqual({ ok: true, value: { type: 'forget.preview', request_id: 'r', policy: { keep_daily: 7, keep_within: '30d', keep_tag: ['x'] }, tags: ['db'] } });
    expect(parse({ type: 'forget.preview', request_id: 'r', policy: { keep_daily: 0 } })).toEqual({ ok: false, message: 'policy: the policy keeps nothing' });
    expect(parse({ type: 'forget.preview', request_id: 'r', policy: { keep_forever: 1 } })).toEqual({ ok: false, message: 'policy.keep_forever: unknown retention rule' });
    expect(parse({ type: 'forget.preview', request_id: 'r', policy: { keep_within: '1 week' } })).toEqual({ ok: false, message: 'policy.keep_within: expected a duration like 30d' });
  });
});

/** Runs one request against a stand-in engine and returns the answer. */
async function askWith(engine: Partial<Engine>, frame: RequestFrame): Promise<Record<string, unknown>> {
  const sent: Record<string, unknown>[] = [];
  const h = new RequestHandler({
    engine: async () => ({ name: 'restic', ...engine }) as Engine, jobFilesDir: '/nonexistent/job-files',
    secrets: () => ({ repository: '/r', password: 'pw-pw-pw' }), send: (f) => sent.push(f), log: createLogger({ write: () => undefined }),
  });
  h.handle(frame);
  for (let i = 0; i < 200 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  return sent[0]!;
}

describe('snapshot.diff and forget.preview answers fit one frame', () => {
  it('cuts a page of very long paths short (has_more, exact total) so the answer stays under MAX_FRAME_BYTES', async () => {
    const long = (i: number): string => `/${String(i).padStart(4, '0')}-${'é\u0001'.repeat(2000)}`;
    const diffStream = () => ({
      items: (async function* () {
        for (let i = 0; i < 500; i++) yield { kind: 'change' as const, path: long(i), modifier: '+' };
        yield { kind: 'statistics' as const, changedFiles: 0, added: { files: 500, dirs: 0, others: 0, bytes: 1 }, removed: { files: 0, dirs: 0, others: 0, bytes: 0 } };
      })(),
      result: Promise.resolve({ ok: true as const, value: { count: 501 } }),
    });
    const r = await askWith({ diffStream }, { type: 'snapshot.diff', request_id: 'b1', from_snapshot_id: 'abcdef01', to_snapshot_id: 'abcdef02', limit: 500, offset: 0 });
    const n = (r.changes as unknown[]).length;
    expect(n).toBeGreaterThan(10);
    expect(n).toBeLessThan(500);
    expect(r).toMatchObject({ has_more: true, total_changes: 500, added: { files: 500 } });
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThan(MAX_FRAME_BYTES);
  });

  it('lists at most 1000 snapshots of a preview, removed ones first, with exact counts', async () => {
    const snap = (i: number) => ({ id: i.toString(16).padStart(64, '0'), shortId: '', time: '2026-01-01T00:00:00Z', hostname: 'h', paths: ['/srv'], tags: [] });
    const keep = Array.from({ length: 900 }, (_, i) => snap(i));
    const remove = Array.from({ length: 600 }, (_, i) => snap(10_000 + i));
    const forget = async () => ({ ok: true as const, value: { keep, remove, reasons: Object.fromEntries(keep.map((s) => [s.id, ['daily snapshot']])) } });
    const r = await askWith({ forget }, { type: 'forget.preview', request_id: 'b2', policy: { keep_daily: 900 } });
    expect(r).toMatchObject({ keep_count: 900, remove_count: 600, error: null });
    expect([(r.remove as unknown[]).length, (r.keep as unknown[]).length]).toEqual([600, 400]);
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThan(MAX_FRAME_BYTES);
  });

  it('says that comparing needs restic on an engine without a streamed diff (rustic)', async () => {
    const r = await askWith({ name: 'rustic' }, { type: 'snapshot.diff', request_id: 'b3', from_snapshot_id: 'abcdef01', to_snapshot_id: 'abcdef02', limit: 5, offset: 0 });
    expect(r).toMatchObject({ error_kind: 'failed', error: 'comparing snapshots needs restic (this host uses rustic)' });
  });
});

describe.skipIf(!restic.ok)('snapshot.diff and forget.preview on the agent, with real restic', () => {
  let tmp: TempDir;
  let conn: Connection;
  let src: string;
  let argvLog: string;
  let wrapper: string;
  const ids: string[] = [];
  const real = createEngine('restic');

  /** The real engine, run through a wrapper script that records restic's argv. */
  const recording: Engine = new Proxy(real, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (c: Connection, ...rest: unknown[]) => (v as (...a: unknown[]) => unknown).call(target, { ...c, binary: wrapper }, ...rest);
    },
  });

  const env = (): NodeJS.ProcessEnv => ({ ...process.env, RESTIC_REPOSITORY: conn.repository, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(tmp.path, 'cache') });
  async function backup(time: string, tags: string[] = []): Promise<string> {
    const { stdout } = await run('restic', ['backup', '--json', '--host', 'inspect-host', '--time', time, ...tags.flatMap((t) => ['--tag', t]), '.'], { cwd: src, env: env() });
    const summary = stdout.trim().split('\n').map((l) => JSON.parse(l) as { message_type: string; snapshot_id?: string }).find((m) => m.message_type === 'summary');
    const short = summary?.snapshot_id;
    if (!short) throw new Error(`no snapshot id in: ${stdout}`);
    // restic 0.14 prints the short id: take the full one from the list.
    const { stdout: list } = await run('restic', ['snapshots', '--json'], { env: env() });
    const full = (JSON.parse(list) as { id: string }[]).find((x) => x.id.startsWith(short))?.id;
    if (!full) throw new Error(`snapshot ${short} not listed`);
    return full;
  }

  async function ask(frame: RequestFrame, secrets = true): Promise<Record<string, unknown>> {
    const sent: Record<string, unknown>[] = [];
    const h = new RequestHandler({
      engine: async () => recording, jobFilesDir: path.join(tmp.path, 'job-files'), secrets: () => (secrets ? { repository: conn.repository, password: PASSWORD } : null), send: (f) => sent.push(f),
      log: createLogger({ write: () => undefined }), cacheDir: path.join(tmp.path, 'cache'),
    });
    h.handle(frame);
    for (let i = 0; i < 600 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(sent).toHaveLength(1);
    return sent[0]!;
  }

  beforeAll(async () => {
    tmp = await tempDir('rm-agent-inspect-');
    conn = { repository: path.join(tmp.path, 'repo'), password: PASSWORD };
    argvLog = path.join(tmp.path, 'argv.log');
    wrapper = path.join(tmp.path, 'restic-wrapper');
    fs.writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${restic.ok ? restic.path : 'restic'}' "$@"\n`, { mode: 0o700 });
    src = path.join(tmp.path, 'src');
    fs.mkdirSync(src);
    await run('restic', ['init'], { env: env() });
    fs.writeFileSync(path.join(src, 'a'), 'a\n');
    fs.writeFileSync(path.join(src, 'b'), 'b\n');
    ids.push(await backup('2026-01-01 10:00:00'));
    fs.rmSync(path.join(src, 'a'));
    fs.appendFileSync(path.join(src, 'b'), 'more\n');
    fs.writeFileSync(path.join(src, 'c'), 'c\n');
    fs.mkdirSync(path.join(src, 'd'));
    fs.writeFileSync(path.join(src, 'd', 'e'), 'e\n');
    ids.push(await backup('2026-01-02 10:00:00'));
    ids.push(await backup('2026-01-02 12:00:00', ['keep']));
    fs.mkdirSync(path.join(src, 'many'));
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(src, 'many', `f${String(i).padStart(2, '0')}`), `file ${i}\n`);
    ids.push(await backup('2026-01-03 09:00:00'));
  }, 60_000);

  afterAll(async () => {
    await tmp.cleanup();
  });

  it("answers restic's statistics and one page of the changes", async () => {
    const whole = await ask({ type: 'snapshot.diff', request_id: 'd1', from_snapshot_id: ids[0]!, to_snapshot_id: ids[1]!, limit: 100, offset: 0 });
    expect(whole).toMatchObject({
      type: 'snapshot.diff.result', request_id: 'd1', error: null, has_more: false, total_changes: 5, changed_files: 1,
      added: { files: 2, dirs: 1, others: 0 }, removed: { files: 1, dirs: 0, others: 0 },
    });
    expect(whole.changes).toEqual([
      { modifier: '-', path: '/a' }, { modifier: 'M', path: '/b' }, { modifier: '+', path: '/c' }, { modifier: '+', path: '/d/' }, { modifier: '+', path: '/d/e' },
    ]);
    expect((whole.added as { bytes: number }).bytes).toBeGreaterThan(0);
    const page = await ask({ type: 'snapshot.diff', request_id: 'd2', from_snapshot_id: ids[0]!, to_snapshot_id: ids[1]!, limit: 2, offset: 1 });
    expect(page).toMatchObject({ changes: [{ modifier: 'M', path: '/b' }, { modifier: '+', path: '/c' }], has_more: true, total_changes: 5 });
  });

  it('pages a longer diff to its end, counting every change', async () => {
    const last = await ask({ type: 'snapshot.diff', request_id: 'd3', from_snapshot_id: ids[2]!, to_snapshot_id: ids[3]!, limit: 10, offset: 25 });
    expect(last).toMatchObject({ total_changes: 31, has_more: false, added: { files: 30, dirs: 1 } });
    expect((last.changes as { path: string }[]).map((c) => c.path)).toEqual(['/many/f24', '/many/f25', '/many/f26', '/many/f27', '/many/f28', '/many/f29']);
    const none = await ask({ type: 'snapshot.diff', request_id: 'd4', from_snapshot_id: ids[1]!, to_snapshot_id: ids[2]!, limit: 10, offset: 0 });
    expect(none).toMatchObject({ changes: [], total_changes: 0, changed_files: 0, has_more: false, error: null });
  });

  it('names an unknown snapshot, and answers no_credentials before the server delivered any', async () => {
    expect(await ask({ type: 'snapshot.diff', request_id: 'd5', from_snapshot_id: 'deadbeef', to_snapshot_id: ids[1]!, limit: 10, offset: 0 })).toMatchObject({ error_kind: 'unknown_snapshot', changes: [] });
    expect(await ask({ type: 'snapshot.diff', request_id: 'd6', from_snapshot_id: ids[0]!, to_snapshot_id: ids[1]!, limit: 10, offset: 0 }, false)).toMatchObject({ error_kind: 'no_credentials' });
    expect(await ask({ type: 'forget.preview', request_id: 'p0', policy: { keep_last: 1 } }, false)).toMatchObject({ error_kind: 'no_credentials' });
  });

  it('previews a policy with the rule behind each kept snapshot, as a dry run that removes nothing', async () => {
    fs.rmSync(argvLog, { force: true });
    const r = await ask({ type: 'forget.preview', request_id: 'p1', policy: { keep_daily: 2 } });
    expect(r).toMatchObject({ type: 'forget.preview.result', request_id: 'p1', error: null, keep_count: 2, remove_count: 2 });
    const keep = r.keep as { id: string; reasons: string[]; hostname: string; tags: string[] }[];
    expect(keep.map((s) => [s.id, s.reasons])).toEqual([[ids[3], ['daily snapshot']], [ids[2], ['daily snapshot']]]);
    expect(keep[1]).toMatchObject({ hostname: 'inspect-host', tags: ['keep'] });
    expect((r.remove as { id: string; reasons: string[] }[]).map((s) => [s.id, s.reasons])).toEqual([[ids[1], []], [ids[0], []]]);
    const argv = fs.readFileSync(argvLog, 'utf8').trim().split('\n');
    expect(argv).toHaveLength(1);
    expect(argv[0]).toMatch(/ forget --json --keep-daily 2 --dry-run --no-lock$/);
    expect(argv[0]).not.toContain(PASSWORD);

    const r2 = await ask({ type: 'forget.preview', request_id: 'p2', policy: { keep_last: 1, keep_tag: ['keep'] } });
    expect((r2.keep as { id: string; reasons: string[] }[]).map((s) => [s.id, s.reasons])).toEqual([[ids[3], ['last snapshot']], [ids[2], ['has tags [keep]']]]);
    expect(r2).toMatchObject({ keep_count: 2, remove_count: 2 });

    const still = await real.snapshots(conn);
    expect(still.ok && still.value.map((s) => s.id).sort()).toEqual([...ids].sort());
  }, 30_000);

  it('filters by tag like a forget job', async () => {
    const r = await ask({ type: 'forget.preview', request_id: 'p3', policy: { keep_last: 1 }, tags: ['keep'] });
    expect(r).toMatchObject({ keep_count: 1, remove_count: 0, error: null });
    expect((r.keep as { id: string }[])[0]?.id).toBe(ids[2]);
  });
});
