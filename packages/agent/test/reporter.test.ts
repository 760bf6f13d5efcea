import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox, createLogger } from '@restic-manager/agent';
import { Reporter } from '../src/net/reporter.js';
import type { Link } from '../src/net/reporter.js';
import { until } from './helpers/fixture.js';
import { tempDirs } from './helpers/temp-dirs.js';

const { tmp } = tempDirs();

function setup(max: number, ready: boolean): { outbox: Outbox; reporter: Reporter; sent: object[]; link: Link & { ready: boolean; pong: () => void } } {
  const d = tmp('rm-reporter-');
  const outbox = new Outbox(path.join(d, 'outbox.jsonl'));
  const sent: object[] = [];
  const waiters: (() => void)[] = [];
  const link = {
    ready,
    isReady() {
      return this.ready;
    },
    send(f: object) {
      if (!this.ready) return false;
      sent.push(f);
      return true;
    },
    ping() {
      return new Promise<void>((r) => waiters.push(r));
    },
    pong() {
      waiters.shift()?.();
    },
  };
  return { outbox, reporter: new Reporter(outbox, link, createLogger({ write: () => undefined }), max), sent, link };
}

describe('Reporter', () => {
  it('journals while offline, replays in order on resume, and forgets only acknowledged frames', async () => {
    const { outbox, reporter, sent, link } = setup(1000, false);
    for (let i = 0; i < 3; i++) reporter.report({ type: 'log.stream', job_id: 'j', seq: i });
    expect(sent).toEqual([]);
    expect(outbox.size()).toBe(3);
    link.ready = true;
    reporter.resume();
    expect(sent.map((f) => (f as { seq: number }).seq)).toEqual([0, 1, 2]);
    expect(outbox.size()).toBe(3);
    await new Promise((r) => setImmediate(r));
    link.pong();
    await new Promise((r) => setImmediate(r));
    expect(outbox.size()).toBe(0);
  });

  it('numbers every report with outbox_seq and, with a server that acks, trims only on ack (never on pong)', async () => {
    const { outbox, reporter, sent, link } = setup(1000, true);
    reporter.resume(true);
    for (let i = 0; i < 4; i++) reporter.report({ type: 'log.stream', job_id: 'j', seq: i });
    expect(sent.map((f) => (f as { outbox_seq: number }).outbox_seq)).toEqual([1, 2, 3, 4]);
    await new Promise((r) => setImmediate(r));
    link.pong();
    await new Promise((r) => setImmediate(r));
    expect(outbox.size()).toBe(4); // read by the server is not stored by the server
    reporter.acked(2);
    expect(outbox.pending().map((e) => e.id)).toEqual([3, 4]);
    // A reconnect before the rest is acked: everything left is replayed, and an ack past what
    // this connection has sent trims only what it has sent.
    link.ready = false;
    reporter.report({ type: 'log.stream', job_id: 'j', seq: 4 });
    link.ready = true;
    sent.length = 0;
    reporter.resume(true);
    expect(sent.map((f) => (f as { outbox_seq: number }).outbox_seq)).toEqual([3, 4, 5]);
    reporter.acked(99);
    expect(outbox.size()).toBe(0);
  });

  it('ignores ack frames on a connection whose server did not announce outbox_acks', () => {
    const { outbox, reporter } = setup(1000, true);
    reporter.resume(false);
    reporter.report({ type: 'log.stream', job_id: 'j', seq: 0 });
    reporter.acked(1);
    expect(outbox.size()).toBe(1);
  });

  it('when the outbox is full, drops log lines but never lifecycle frames, and says so in the log', () => {
    const { outbox, reporter } = setup(3, false);
    reporter.report({ type: 'job.started', job_id: 'j', seq: 0 });
    for (let i = 1; i <= 5; i++) reporter.report({ type: 'log.stream', job_id: 'j', seq: i });
    reporter.report({ type: 'job.finished', job_id: 'j', seq: 6, status: 'succeeded' });
    const frames = outbox.pending().map((e) => e.frame);
    expect(frames.map((f) => [f.type, f.seq])).toEqual([['job.started', 0], ['log.stream', 1], ['log.stream', 2], ['log.stream', 6], ['job.finished', 7]]);
    expect(frames[3]!.payload).toBe('3 log lines were dropped while the server was unreachable (outbox full)');
  });

  it('paces its sends: a burst, then the rest at the configured rate, in order (below the server frame limit)', async () => {
    const d = tmp('rm-reporter-');
    const outbox = new Outbox(path.join(d, 'outbox.jsonl'));
    const sent: { seq: number }[] = [];
    const link: Link = { isReady: () => true, send: (f) => sent.push(f as { seq: number }) > 0, ping: () => new Promise(() => undefined) };
    const reporter = new Reporter(outbox, link, createLogger({ write: () => undefined }), 1000, { burst: 5, perSecond: 50 });
    reporter.resume(true);
    const t0 = Date.now();
    for (let i = 0; i < 25; i++) reporter.report({ type: 'log.stream', job_id: 'j', seq: i });
    // The burst goes at once (a busy machine may have refilled a token or two while reporting).
    const first = sent.length;
    expect(first).toBeGreaterThanOrEqual(5);
    expect(first).toBeLessThanOrEqual(5 + Math.ceil(((Date.now() - t0) * 50) / 1000) + 1);
    await until(() => sent.length === 25, 10_000, 'all 25 frames sent');
    expect(sent.map((f) => f.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    // The rest at 50/s: never faster than the rate allows.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(((25 - first - 1) * 1000) / 50);
  });
});
