import { describe, expect, it } from 'vitest';
import { AgentMessage, ForgetPreviewRequest, ServerMessage, SnapshotDiffQuery, ruleOfReason } from '@restic-manager/protocol';

describe('retention preview: restic reasons map to policy rules', () => {
  it('maps every reason restic 0.14 gives to the rule behind it', () => {
    const reasons = ['last snapshot', 'hourly snapshot', 'daily snapshot', 'weekly snapshot', 'monthly snapshot', 'yearly snapshot', 'within 1y', 'has tags [keep]'];
    expect(reasons.map(ruleOfReason)).toEqual(['keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly', 'keep_within', 'keep_tag']);
  });

  it("maps rustic's one-word reasons too", () => {
    expect(['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'within', 'tags'].map(ruleOfReason)).toEqual(['keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly', 'keep_within', 'keep_tag']);
  });

  it('answers null for a reason it does not know (a newer restic), rather than guessing', () => {
    expect(ruleOfReason('within-daily 7d')).toBeNull();
    expect(ruleOfReason('')).toBeNull();
  });
});

describe('snapshot.diff / forget.preview frames and REST inputs', () => {
  it('parses the request and result frames, filling defaults', () => {
    expect(ServerMessage.parse({ type: 'snapshot.diff', request_id: 'r', from_snapshot_id: 'abcdef01', to_snapshot_id: 'abcdef02', limit: 10, offset: 0 }).type).toBe('snapshot.diff');
    expect(AgentMessage.parse({ type: 'snapshot.diff.result', request_id: 'r', error: 'x', error_kind: 'failed' })).toMatchObject({ changes: [], has_more: false, added: null });
    expect(ServerMessage.safeParse({ type: 'forget.preview', request_id: 'r', policy: {} }).success).toBe(false);
    expect(AgentMessage.parse({ type: 'forget.preview.result', request_id: 'r' })).toMatchObject({ keep: [], remove: [], keep_count: 0, error: null });
  });

  it('refuses a bad modifier in a diff answer', () => {
    expect(AgentMessage.safeParse({ type: 'snapshot.diff.result', request_id: 'r', changes: [{ modifier: 'X', path: '/a' }] }).success).toBe(false);
  });

  it('takes against=parent by default, or a snapshot id, and names the field otherwise', () => {
    expect(SnapshotDiffQuery.parse({})).toEqual({ against: 'parent', limit: 100, offset: 0 });
    expect(SnapshotDiffQuery.parse({ against: 'ABCDEF01', limit: '5' })).toMatchObject({ against: 'ABCDEF01', limit: 5 });
    const bad = SnapshotDiffQuery.safeParse({ against: 'yesterday' });
    expect(bad.success ? [] : bad.error.issues.map((i) => i.path.join('.'))).toContain('against');
  });

  it('takes the same policy schema as forget schedules, refusing one that keeps nothing', () => {
    expect(ForgetPreviewRequest.safeParse({ policy: { keep_daily: 7 }, tags: ['db'] }).success).toBe(true);
    const r = ForgetPreviewRequest.safeParse({ policy: { keep_daily: 0 } });
    expect(r.success ? [] : r.error.issues.map((i) => i.path.join('.'))).toEqual(['policy']);
    expect(ForgetPreviewRequest.safeParse({ policy: { keep_daily: 1 }, prune: true }).success).toBe(false);
  });
});
