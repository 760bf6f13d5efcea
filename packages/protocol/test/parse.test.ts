import { describe, expect, it } from 'vitest';
import { AgentMessage, MAX_FRAME_BYTES, RetentionPolicy, parseFrame } from '@restic-manager/protocol';

describe('parseFrame', () => {
  it('accepts a valid heartbeat and fills defaults', () => {
    const r = parseFrame(AgentMessage, JSON.stringify({ type: 'heartbeat', ts: '2026-01-01T00:00:00Z' }), MAX_FRAME_BYTES);
    expect(r).toEqual({ ok: true, value: { type: 'heartbeat', ts: '2026-01-01T00:00:00Z', running_job_ids: [] } });
  });

  it('reports malformed JSON as bad_json', () => {
    expect(parseFrame(AgentMessage, '{nope', MAX_FRAME_BYTES)).toMatchObject({ ok: false, code: 'bad_json' });
  });

  it('reports an unknown type as bad_frame naming the field', () => {
    const r = parseFrame(AgentMessage, '{"type":"nope"}', MAX_FRAME_BYTES);
    expect(r).toMatchObject({ ok: false, code: 'bad_frame' });
    if (!r.ok) expect(r.message).toMatch(/^type:/);
  });

  it('refuses oversize frames before parsing them', () => {
    expect(parseFrame(AgentMessage, 'x'.repeat(11), 10)).toMatchObject({ ok: false, code: 'too_large' });
  });

  it('never echoes field values in its error message', () => {
    const secret = 'hunter2-very-secret';
    const r = parseFrame(AgentMessage, JSON.stringify({ type: 'log.stream', job_id: 'j', seq: -1, ts: 'x', stream: 'stdout', payload: secret }), MAX_FRAME_BYTES);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).not.toContain(secret);
  });
});

describe('RetentionPolicy', () => {
  it('accepts a policy that keeps something', () => {
    expect(RetentionPolicy.safeParse({ keep_daily: 7, keep_tag: ['pin'] }).success).toBe(true);
  });
  it('rejects an empty policy, which would forget every snapshot', () => {
    expect(RetentionPolicy.safeParse({}).success).toBe(false);
    expect(RetentionPolicy.safeParse({ keep_last: 0 }).success).toBe(false);
  });
  it('rejects unknown keys', () => {
    expect(RetentionPolicy.safeParse({ keep_dayly: 7 }).success).toBe(false);
  });
});
