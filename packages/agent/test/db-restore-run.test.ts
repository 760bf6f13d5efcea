import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { Connection, DumpRequest, Engine, Result } from '@restic-manager/engines';
import { DbRestoreArgs } from '@restic-manager/protocol';
import { runDbRestore } from '../src/dumps/restore-job.js';

/*
 * The pipe between `restic dump` and the restore tool, with a stand-in engine and a stand-in tool
 * (a shell script that records what it read and whether it saw end-of-file): the tool sees EOF
 * only for a whole dump, a restic failure stops the tool before EOF and names restic, a tool
 * failure stops restic and names the tool with its last stderr line.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'rm-dbr-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const out = path.join(dir, 'read');
const tool = (body: string): string => {
  const p = path.join(dir, `tool-${Math.random().toString(16).slice(2)}`);
  writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
};
const reader = tool(`rm -f '${out}'; cat > '${out}.part' && mv '${out}.part' '${out}'; echo "env:\${PGPASSWORD:-none}" >&2`);
const failer = tool(`read -r first; echo 'psql: error: connection to server failed: FATAL:  password authentication failed for user "postgres"' >&2; exit 2`);

function fakeEngine(chunks: string[], result: 'ok' | 'fail', delayMs = 0): Engine {
  return {
    name: 'restic',
    async dump(_c: Connection, req: DumpRequest, o: { signal?: AbortSignal } = {}): Promise<Result<void>> {
      const stopped = { ok: false as const, error: { kind: 'interrupted' as const, command: 'dump', exitCode: 130, message: 'interrupted', stderrTail: [] } };
      for (const c of chunks) {
        await new Promise((r) => setTimeout(r, delayMs));
        if (o.signal?.aborted) return stopped;
        if (!(req.stdout as Writable).write(c)) {
          // Like restic blocked on a full pipe: only a drain or the stop signal (SIGINT) ends the wait.
          await new Promise((r) => {
            req.stdout.once('drain', r);
            o.signal?.addEventListener('abort', r, { once: true });
          });
        }
      }
      if (o.signal?.aborted) return stopped;
      if (result === 'ok') return { ok: true, value: undefined };
      return { ok: false, error: { kind: 'failed', command: 'dump', exitCode: 1, message: 'Fatal: unable to load pack file 4f2a: ciphertext verification failed', stderrTail: [] } };
    },
  } as unknown as Engine;
}

const PW = 'run-test-pw-7c2d';
const args = DbRestoreArgs.parse({ snapshot_id: 'abcdef12', file: '/postgres/app.sql', connection: { engine: 'postgres', password: PW }, database: 'app' });
const conn: Connection = { repository: '/nowhere', password: 'x' };
const lines: string[] = [];
const opts = { onLine: (l: { line: string }) => void lines.push(l.line) };

describe('db_restore: restic dump piped into the tool', () => {
  it('a whole dump reaches the tool with end-of-file; the password only in its environment, redacted from its stderr', async () => {
    const o = await runDbRestore(fakeEngine(['BEGIN;\n', 'x'.repeat(600_000), '\nCOMMIT;\n'], 'ok'), conn, args, opts, { resolve: () => reader, baseEnv: { PATH: process.env.PATH ?? '' } });
    expect(o.status, o.error ?? '').toBe('succeeded');
    expect(o.stats).toMatchObject({ engine: 'postgres', database: 'app', bytes: 600_016 });
    expect(readFileSync(out, 'utf8').length).toBe(600_016);
    expect(lines.join('\n')).toContain('psql: env:***');
    expect(lines.join('\n')).not.toContain(PW);
  });

  it('restic failing half-way stops the tool before end-of-file and names restic', async () => {
    rmSync(out, { force: true });
    const o = await runDbRestore(fakeEngine(['CREATE TABLE a (i int);\n', 'INSERT'], 'fail', 20), conn, args, opts, { resolve: () => reader, baseEnv: { PATH: process.env.PATH ?? '' } });
    expect(o.status).toBe('failed');
    expect(o.error).toBe('restic dump failed: Fatal: unable to load pack file 4f2a: ciphertext verification failed');
    expect(() => readFileSync(out)).toThrow(); // the tool never saw EOF, so it never "committed"
  });

  it('the tool failing stops restic and names the tool with its last stderr line', async () => {
    const many = Array.from({ length: 200 }, () => 'y'.repeat(64 * 1024));
    const t0 = Date.now();
    const o = await runDbRestore(fakeEngine(many, 'ok', 5), conn, args, opts, { resolve: () => failer, baseEnv: { PATH: process.env.PATH ?? '' } });
    expect(o.status).toBe('failed');
    expect(o.error).toBe('psql failed: psql: error: connection to server failed: FATAL:  password authentication failed for user "postgres"');
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});
