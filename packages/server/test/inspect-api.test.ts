import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeAgent } from '@restic-manager/server/testing';
import type { Harness } from './helpers/harness.js';
import { enrolledAgent, eventually, startHarness } from './helpers/harness.js';

const id = (prefix: string): string => prefix.padEnd(64, '0');
const S1 = id('aaaa0001');
const S2 = id('aaaa0002');
const S3 = id('aaaa0003');
const S4 = id('aaaa0004');
const REPO_PASSWORD = 'inspect-repo-password-1';

describe('snapshot diff and retention preview API (fake agent)', () => {
  let h: Harness;
  let a: { agent: FakeAgent; hostId: string };
  const frames: Record<string, unknown>[] = [];

  beforeAll(async () => {
    h = await startHarness();
    a = await enrolledAgent(h, 'inspect-a', { url: '/srv/restic/inspect-a', password: REPO_PASSWORD, append_only: false });
    await a.agent.connect();
    a.agent.send({
      type: 'snapshots.report', snapshots: [
        { id: S1, short_id: 'aaaa0001', time: '2026-01-01T00:00:00Z', hostname: 'a', paths: ['/home'], tags: [] },
        { id: S2, short_id: 'aaaa0002', time: '2026-01-02T00:00:00Z', hostname: 'a', paths: ['/home'], tags: [] },
        { id: S3, short_id: 'aaaa0003', time: '2026-01-03T00:00:00Z', hostname: 'a', paths: ['/etc'], tags: [] },
        { id: S4, short_id: 'aaaa0004', time: '2026-01-04T00:00:00Z', hostname: 'a', paths: ['/home'], tags: [] },
      ],
    });
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots`)).body.total === 4);
    const changes = Array.from({ length: 7 }, (_, i) => ({ modifier: i % 2 ? '+' : 'M', path: `/home/f${i}` }));
    a.agent.o.onMessage = (m, ag) => {
      if (m.type === 'snapshot.diff') {
        frames.push({ ...m });
        if (m.from_snapshot_id === S3) return ag.send({ type: 'snapshot.diff.result', request_id: m.request_id, error: 'snapshot aaaa0003 is not in the repository', error_kind: 'unknown_snapshot' });
        const page = changes.slice(m.offset, m.offset + m.limit);
        ag.send({
          type: 'snapshot.diff.result', request_id: m.request_id, changes: page, has_more: m.offset + page.length < changes.length, total_changes: changes.length,
          changed_files: 4, added: { files: 3, dirs: 0, others: 0, bytes: 3000 }, removed: { files: 0, dirs: 0, others: 0, bytes: 10 },
        });
      }
      if (m.type === 'forget.preview') {
        frames.push({ ...m });
        if (m.policy.keep_last === 99) return ag.send({ type: 'forget.preview.result', request_id: m.request_id, error: 'Fatal: unable to open repository', error_kind: 'failed' });
        const snap = (sid: string, time: string, reasons: string[]) => ({ id: sid, time, hostname: 'a', paths: ['/home'], tags: [], reasons });
        ag.send({
          type: 'forget.preview.result', request_id: m.request_id,
          keep: [snap(S4, '2026-01-04T00:00:00Z', ['daily snapshot', 'last snapshot']), snap(S2, '2026-01-02T00:00:00Z', ['daily snapshot', 'within-daily 7d'])],
          remove: [snap(S1, '2026-01-01T00:00:00Z', [])],
          keep_count: 2, remove_count: m.policy.keep_last === 5 ? 1500 : 1,
        });
      }
    };
  });
  afterAll(async () => {
    await a.agent.close();
    await h.close();
  });

  const diff = (snap: string, q = '') => h.admin.req('GET', `/api/hosts/${a.hostId}/snapshots/${snap}/diff${q}`);

  it('diffs a snapshot against its parent: the previous snapshot of the same paths', async () => {
    const r = await diff('aaaa0004', '?limit=3&offset=0');
    expect(r.status, r.text).toBe(200);
    expect(frames.at(-1)).toMatchObject({ type: 'snapshot.diff', from_snapshot_id: S2, to_snapshot_id: S4, limit: 3, offset: 0 });
    expect(r.body).toMatchObject({
      from: { id: S2, short_id: 'aaaa0002', time: '2026-01-02T00:00:00Z' }, to: { id: S4, short_id: 'aaaa0004' },
      changed_files: 4, added: { files: 3, bytes: 3000 }, removed: { bytes: 10 }, total_changes: 7, has_more: true, limit: 3, offset: 0,
    });
    expect(r.body.changes).toEqual([{ modifier: 'M', path: '/home/f0' }, { modifier: '+', path: '/home/f1' }, { modifier: 'M', path: '/home/f2' }]);
    const last = await diff('aaaa0004', '?limit=3&offset=6');
    expect([last.body.changes.length, last.body.has_more]).toEqual([1, false]);
  });

  it('diffs against any snapshot of the host given by id', async () => {
    const r = await diff(S4, `?against=AAAA0001`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.from.id).toBe(S1);
    expect(frames.at(-1)).toMatchObject({ from_snapshot_id: S1, to_snapshot_id: S4, limit: 100, offset: 0 });
  });

  it('says when a snapshot has no parent, and maps the agent\'s unknown snapshot to 404', async () => {
    const first = await diff('aaaa0001');
    expect([first.status, first.body.error.code]).toEqual([404, 'not_found']);
    expect(first.body.error.message).toMatch(/aaaa0001 has no earlier snapshot of the same paths on host inspect-a/);
    const gone = await diff('aaaa0004', '?against=aaaa0003');
    expect([gone.status, gone.body.error.message]).toEqual([404, 'snapshot aaaa0003 is not in the repository']);
    const unknown = await diff('bbbb0000');
    expect([unknown.status, unknown.body.error.message]).toEqual([404, expect.stringMatching(/bbbb0000 is not among the snapshots of host inspect-a/)]);
  });

  it.each([
    ['?against=yesterday', 'against'],
    ['?against=aaaa0004', 'against'],
    ['?against=cccc0000', 'against'],
    ['?limit=501', 'limit'],
    ['?offset=-1', 'offset'],
  ])('refuses %s with 400 naming %s', async (q, field) => {
    const r = await diff('aaaa0004', q);
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(Object.keys(r.body.error.fields ?? {})).toContain(field);
  });

  const preview = (body: unknown) => h.admin.req('POST', `/api/hosts/${a.hostId}/forget/preview`, body);

  it('previews a policy: kept snapshots with the rule behind each reason, removed ones', async () => {
    const r = await preview({ policy: { keep_daily: 2, keep_last: 1 }, tags: ['db'] });
    expect(r.status, r.text).toBe(200);
    const sent = frames.at(-1)!;
    expect(sent).toMatchObject({ type: 'forget.preview', policy: { keep_daily: 2, keep_last: 1 }, tags: ['db'] });
    expect(JSON.stringify(sent)).not.toContain(REPO_PASSWORD);
    expect(r.body).toMatchObject({ keep_count: 2, remove_count: 1, truncated: false });
    expect(r.body.keep.map((s: { short_id: string; reasons: string[]; rules: unknown[] }) => [s.short_id, s.reasons, s.rules])).toEqual([
      ['aaaa0004', ['daily snapshot', 'last snapshot'], ['keep_daily', 'keep_last']],
      ['aaaa0002', ['daily snapshot', 'within-daily 7d'], ['keep_daily', null]],
    ]);
    expect(r.body.remove).toEqual([expect.objectContaining({ id: S1, reasons: [], rules: [] })]);
  });

  it('says when the lists were cut, and passes on restic\'s failure', async () => {
    const cut = await preview({ policy: { keep_last: 5 } });
    expect(cut.body).toMatchObject({ remove_count: 1500, truncated: true });
    const failed = await preview({ policy: { keep_last: 99 } });
    expect([failed.status, failed.body.error.code]).toEqual([409, 'invalid_state']);
    expect(failed.body.error.message).toMatch(/retention preview failed on host inspect-a: Fatal: unable to open repository/);
  });

  it.each([
    [{ policy: {} }, 'policy'],
    [{ policy: { keep_daily: 0 } }, 'policy'],
    [{ policy: { keep_within: '2 weeks' } }, 'policy.keep_within'],
    [{ policy: { keep_daily: 1 }, prune: true }, 'body'],
    [{}, 'policy'],
  ] as [Record<string, unknown>, string][])('refuses preview body %j with 400 naming %s', async (body, field) => {
    const before = frames.length;
    const r = await preview(body);
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    if (field !== 'body') expect(Object.keys(r.body.error.fields ?? {})).toContain(field);
    expect(frames.length).toBe(before);
  });

  it('answers 503 when the agent is offline', async () => {
    await a.agent.close();
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${a.hostId}`)).body.status === 'offline');
    const r = await preview({ policy: { keep_last: 1 } });
    expect([r.status, r.body.error.code]).toEqual([503, 'agent_unavailable']);
    expect((await diff('aaaa0004')).status).toBe(503);
    await a.agent.connect();
  });
});
