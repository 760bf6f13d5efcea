import { beforeAll, describe, expect, it } from 'vitest';
import type { ServerMessage } from '@restic-manager/protocol';
import type { FakeAgent } from '@restic-manager/server/testing';
import { useConnectedAgent } from './helpers/connected-agent.js';
import { eventually, useHarness } from './helpers/harness.js';
import { HTMX_FORM, formBody } from './helpers/web-form.js';

/* Issue 16 web partials: "What changed" on the restore page and the schedule editor's retention preview. */
const S1 = 'cccc0001'.padEnd(64, '0');
const S2 = 'cccc0002'.padEnd(64, '0');

describe('diff and retention preview web partials', () => {
  const sent: ServerMessage[] = [];

  const h = useHarness({}, { mountWeb: undefined });
  const host = useConnectedAgent(h, 'web-inspect', { url: '/srv/repo', password: 'repo-password-123456' }, {
    configured: false,
    onMessage: (m: ServerMessage, a: FakeAgent) => {
      if (m.type === 'snapshot.diff') {
        sent.push(m);
        const all = Array.from({ length: 150 }, (_, i) => ({ modifier: i === 0 ? '-' : '+', path: `/srv/<f${i}>` }));
        const page = all.slice(m.offset, m.offset + m.limit);
        a.send({ type: 'snapshot.diff.result', request_id: m.request_id, changes: page, has_more: m.offset + page.length < all.length, total_changes: all.length, changed_files: 2, added: { files: 149, dirs: 0, others: 0, bytes: 2048 }, removed: { files: 1, dirs: 0, others: 0, bytes: 5 } });
      }
      if (m.type === 'forget.preview') {
        sent.push(m);
        a.send({
          type: 'forget.preview.result', request_id: m.request_id, keep_count: 1, remove_count: 1,
          keep: [{ id: S2, time: '2026-01-02T00:00:00Z', hostname: 'web-inspect', paths: ['/srv'], tags: [], reasons: ['daily snapshot', 'last snapshot'] }],
          remove: [{ id: S1, time: '2026-01-01T00:00:00Z', hostname: 'web-inspect', paths: ['/srv'], tags: [], reasons: [] }],
        });
      }
    },
  });

  beforeAll(async () => {
    host.agent.send({
      type: 'snapshots.report', snapshots: [
        { id: S1, short_id: 'cccc0001', time: '2026-01-01T00:00:00Z', hostname: 'web-inspect', paths: ['/srv'], tags: [] },
        { id: S2, short_id: 'cccc0002', time: '2026-01-02T00:00:00Z', hostname: 'web-inspect', paths: ['/srv'], tags: [] },
      ],
    });
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${host.hostId}/snapshots`)).body.total === 2);
  });

  it('the restore page has a "What changed" card that loads the diff when opened', async () => {
    const page = await h.admin.req('GET', `/hosts/${host.hostId}/restore?snapshot=${S2}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="what-changed"');
    expect(page.text).toContain(`hx-get="/partials/hosts/${host.hostId}/snapshots/${S2}/diff?against=parent"`);
    expect(sent).toHaveLength(0); // nothing runs on the host before the card is opened
  });

  it('shows the statistics and a page of changes, escaped, with a next page', async () => {
    const r = await h.admin.req('GET', `/partials/hosts/${host.hostId}/snapshots/${S2}/diff?against=parent`);
    expect(r.status, r.text).toBe(200);
    expect(sent.at(-1)).toMatchObject({ type: 'snapshot.diff', from_snapshot_id: S1, to_snapshot_id: S2, limit: 100, offset: 0 });
    expect(r.text).toMatch(/<strong>149<\/strong> files added, <strong>1<\/strong> removed, <strong>2<\/strong> changed/);
    expect(r.text).toContain('/srv/&lt;f0&gt;');
    expect(r.text).not.toContain('/srv/<f0>');
    expect(r.text).toContain('Showing 1–100 of 150 changes');
    expect(r.text).toContain(`/partials/hosts/${host.hostId}/snapshots/${S2}/diff?against=parent&amp;offset=100`);
    const next = await h.admin.req('GET', `/partials/hosts/${host.hostId}/snapshots/${S2}/diff?against=parent&offset=100`);
    expect(next.text).toContain('Showing 101–150 of 150 changes');
    expect(next.text).not.toContain('>Next<');
  });

  it('says in place when there is nothing to compare with', async () => {
    const r = await h.admin.req('GET', `/partials/hosts/${host.hostId}/snapshots/${S1}/diff?against=parent`);
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/has no earlier snapshot of the same paths/);
  });

  it('the schedule editor previews the policy being edited: kept with the rule, removed', async () => {
    const editor = await h.admin.req('GET', `/hosts/${host.hostId}/schedules`);
    expect(editor.text).toContain(`hx-post="/hosts/${host.hostId}/forget/preview"`);
    const r = await h.admin.req('POST', `/hosts/${host.hostId}/forget/preview`, formBody({ kind: 'forget', cron_expr: '0 3 * * *', 'retention_policy.keep_daily': '7', 'retention_policy.keep_last': '1', 'retention_policy.keep_weekly': '' }), HTMX_FORM);
    expect(r.status, r.text).toBe(200);
    expect(sent.at(-1)).toMatchObject({ type: 'forget.preview', policy: { keep_daily: 7, keep_last: 1 } });
    expect(r.text).toContain('id="preview-remove-count">1<');
    expect(r.text).toMatch(/data-snapshot-id="cccc0001[0-9]*" data-action="remove"/);
    expect(r.text).toMatch(/title="daily snapshot">keep daily</);
    expect(r.text).toMatch(/title="last snapshot">keep last</);
  });

  it('names the bad retention field with the form\'s own name, and refuses an empty policy', async () => {
    const before = sent.length;
    const bad = await h.admin.req('POST', `/hosts/${host.hostId}/forget/preview`, formBody({ 'retention_policy.keep_within': '2 weeks' }), HTMX_FORM);
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.fields)).toEqual(['retention_policy.keep_within']);
    const empty = await h.admin.req('POST', `/hosts/${host.hostId}/forget/preview`, formBody({ 'retention_policy.keep_daily': '' }), HTMX_FORM);
    expect(empty.status).toBe(400);
    expect(Object.keys(empty.body.error.fields)).toEqual(['retention_policy.keep_last']);
    expect(sent.length).toBe(before);
  });
});
