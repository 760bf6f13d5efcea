import { describe, expect, it } from 'vitest';
import { Redactor } from '@restic-manager/engines';
import { streamCommand } from '../src/stream.js';

/** An endless producer: `ls` of a snapshot far bigger than memory would be the real-life case. */
const endless = {
  binary: 'sh',
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  globalArgs: [],
  redactor: new Redactor([]),
};
const script = ['-c', 'i=0; while :; do echo "entry-$i"; i=$((i+1)); done'];

describe('streamCommand (ls streaming)', () => {
  it('back-pressure: a consumer that stops reading pauses the child instead of buffering', async () => {
    const s = streamCommand(endless, 'ls', script, (l) => l);
    const it0 = s.entries[Symbol.asyncIterator]();
    for (let i = 0; i < 10; i++) expect((await it0.next()).value).toBe(`entry-${i}`);
    await new Promise((r) => setTimeout(r, 500)); // an unpaused child would print ~millions of lines now
    await it0.return?.();
    const r = await s.result;
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.count).toBeLessThan(5000);
  });

  it('leaving the loop early stops the child and still resolves ok', async () => {
    const s = streamCommand(endless, 'ls', script, (l) => l);
    const seen: string[] = [];
    for await (const e of s.entries) {
      seen.push(e);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['entry-0', 'entry-1', 'entry-2']);
    expect((await s.result).ok).toBe(true);
  });

  it('a failing child ends the stream and reports the error', async () => {
    const s = streamCommand(endless, 'ls', ['-c', 'echo one; echo "Fatal: no matching ID found for prefix \\"abc\\"" >&2; exit 1'], (l) => l);
    const seen: string[] = [];
    for await (const e of s.entries) seen.push(e);
    expect(seen).toEqual(['one']);
    const r = await s.result;
    expect(r.ok ? 'ok' : r.error.message).toBe('Fatal: no matching ID found for prefix "abc"');
  });

  it("the items are data, not log: only stderr reaches the caller's log lines", async () => {
    const lines: string[] = [];
    const s = streamCommand(endless, 'ls', ['-c', 'echo \'{"path":"/srv/a"}\'; echo "warning: something" >&2; echo \'{"path":"/srv/b"}\''], (l) => l, { onLine: (l) => lines.push(`${l.stream}: ${l.line}`) });
    const seen: string[] = [];
    for await (const e of s.entries) seen.push(e);
    expect((await s.result).ok).toBe(true);
    expect(seen).toEqual(['{"path":"/srv/a"}', '{"path":"/srv/b"}']);
    expect(lines).toEqual(['stderr: warning: something']);
  });
});
