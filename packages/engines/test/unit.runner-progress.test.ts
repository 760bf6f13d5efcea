import { afterEach, describe, expect, it, vi } from 'vitest';
import { LineSplitter, ProgressCoalescer, Redactor, runProcess, type OutputLine, type Progress } from '@restic-manager/engines';

const redactor = new Redactor(['hunter2-secret']);
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

describe('LineSplitter', () => {
  it('joins lines split across chunks, strips CR, keeps an unterminated last line', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    for (const c of ['{"a":', '1}\r\nsecond\n', '', 'thi', 'rd']) s.push(c);
    s.end();
    expect(lines).toEqual(['{"a":1}', 'second', 'third']);
  });
});

describe('runProcess', () => {
  it('streams stdout lines, keeps a capped redacted stderr tail and passes only the given env', async () => {
    const lines: OutputLine[] = [];
    const out: string[] = [];
    const r = await runProcess({
      binary: 'sh',
      args: ['-c', 'echo "$ONLY"; for i in 1 2 3 4 5; do echo "err $i hunter2-secret" >&2; done; echo "$HOME" ; exit 7'],
      env: { ...env, ONLY: 'x' },
      redactor,
      stderrTailLines: 3,
      onStdoutLine: (l) => out.push(l),
      onLine: (l) => lines.push(l),
    });
    expect(r.exitCode).toBe(7);
    expect(out).toEqual(['x', '']);
    expect(r.stderrTail).toEqual(['err 3 ***', 'err 4 ***', 'err 5 ***']);
    expect(JSON.stringify(lines)).not.toContain('hunter2-secret');
  });

  it('abort sends SIGINT first; a child that ignores it is killed after the grace period', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = runProcess({ binary: 'sh', args: ['-c', "trap '' INT; echo ready; sleep 30"], env, redactor, signal: ac.signal, killGraceMs: 300, onStdoutLine: () => ac.abort() });
    const r = await p;
    expect(r.aborted).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a child that handles SIGINT exits on its own terms', async () => {
    const ac = new AbortController();
    const r = await runProcess({ binary: 'sh', args: ['-c', "trap 'echo bye; exit 130' INT; echo ready; while :; do sleep 0.05; done"], env, redactor, signal: ac.signal, killGraceMs: 5000, onStdoutLine: (l) => (l === 'ready' ? ac.abort() : undefined) });
    expect(r).toMatchObject({ aborted: true, exitCode: 130 });
  });

  it('times out, and reports a binary that does not exist', async () => {
    const t = await runProcess({ binary: 'sleep', args: ['30'], env, redactor, timeoutMs: 200, killGraceMs: 200 });
    expect(t.timedOut).toBe(true);
    const missing = await runProcess({ binary: '/nonexistent/restic', args: [], env, redactor });
    expect(missing.spawnError).toMatch(/ENOENT/);
    const pre = new AbortController();
    pre.abort();
    expect((await runProcess({ binary: 'sleep', args: ['30'], env, redactor, signal: pre.signal })).aborted).toBe(true);
  });
});

describe('ProgressCoalescer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const p = (n: number): Progress => ({ percentDone: n, filesDone: 0, totalFiles: null, bytesDone: 0, totalBytes: null, etaSeconds: null, throughputBps: null, elapsedSeconds: 0, currentFiles: [], errorCount: 0 });

  it('delivers at most one event per interval, the latest wins, and flush delivers the final state', () => {
    vi.useFakeTimers();
    const got: number[] = [];
    const c = new ProgressCoalescer((x) => got.push(x.percentDone), 500, () => Date.now());
    for (let i = 1; i <= 60; i++) c.push(p(i / 100)); // restic's 60 lines in one burst
    expect(got).toEqual([0.01]);
    vi.advanceTimersByTime(500);
    expect(got).toEqual([0.01, 0.6]);
    c.push(p(0.7));
    c.flush(p(1));
    expect(got).toEqual([0.01, 0.6, 1]);
    vi.advanceTimersByTime(2000);
    expect(got).toEqual([0.01, 0.6, 1]);
  });

  it('a throwing listener does not break the producer', () => {
    const c = new ProgressCoalescer(() => {
      throw new Error('ui bug');
    }, 0);
    expect(() => c.push(p(0.5))).not.toThrow();
  });
});
