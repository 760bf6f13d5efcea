import { spawn } from 'node:child_process';
import readline from 'node:readline';
import type { Connection, Engine, ProgressOptions, Result } from '@restic-manager/engines';

/**
 * A protocol-level stand-in for the restic engine: `backup` runs a real `/bin/sh` child that
 * prints lines and sleeps, so cancellation (SIGINT, then SIGKILL) and streaming are real.
 * The engine contract itself is tested by the engines package; agent e2e tests use real restic.
 */
export interface ScriptEngineOptions {
  /** Shell script run by backup; `$RM_TEST_PASSWORD` holds the password from the Connection env. */
  script: string;
  calls?: { method: string; conn: Connection }[];
}

function run(script: string, conn: Connection, opts: ProgressOptions | undefined): Promise<Result<{ code: number }>> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', script], { env: { ...process.env, RM_TEST_PASSWORD: conn.password ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), opts?.killGraceMs ?? 5000).unref();
    };
    opts?.signal?.addEventListener('abort', onAbort, { once: true });
    for (const s of ['stdout', 'stderr'] as const) {
      readline.createInterface({ input: child[s] }).on('line', (line) => {
        opts?.onLine?.({ stream: s, line, ts: new Date() });
        const m = /^progress (\d+)$/.exec(line);
        if (m) opts?.onProgress?.({ percentDone: Number(m[1]) / 100, filesDone: 1, totalFiles: 10, bytesDone: 100, totalBytes: 1000, etaSeconds: 1, throughputBps: 10, elapsedSeconds: 1, currentFiles: ['/x'], errorCount: 0 });
      });
    }
    child.on('close', (code) => {
      opts?.signal?.removeEventListener('abort', onAbort);
      if (aborted) resolve({ ok: false, error: { kind: 'interrupted', command: 'backup', exitCode: code, message: 'interrupted', stderrTail: [] } });
      else if (code === 0) resolve({ ok: true, value: { code: 0 } });
      else resolve({ ok: false, error: { kind: 'failed', command: 'backup', exitCode: code, message: `exit ${code}`, stderrTail: [] } });
    });
  });
}

export function scriptEngine(o: ScriptEngineOptions): Engine {
  const notUsed = (): never => {
    throw new Error('not used by these tests');
  };
  const summary = { snapshotId: 'a'.repeat(64), filesNew: 1, filesChanged: 0, filesUnmodified: 0, dirsNew: 0, dirsChanged: 0, dirsUnmodified: 0, dataBlobs: 1, treeBlobs: 1, dataAdded: 10, totalFilesProcessed: 1, totalBytesProcessed: 10, durationSeconds: 0.1, errors: [] };
  return {
    name: 'restic',
    restoreNamesFailedFiles: true,
    version: async () => ({ ok: true, value: { version: '0.14.0', raw: 'restic 0.14.0' } }),
    init: async () => ({ ok: true, value: {} }),
    backup: async (conn, _req, opts) => {
      o.calls?.push({ method: 'backup', conn });
      const r = await run(o.script, conn, opts);
      return r.ok ? { ok: true, value: summary } : r;
    },
    snapshots: async () => ({ ok: true, value: [{ id: 'a'.repeat(64), shortId: 'aaaaaaaa', time: new Date().toISOString(), hostname: 'h', paths: ['/x'], tags: [] }] }),
    ls: notUsed,
    lsPage: notUsed,
    stats: async () => ({ ok: true, value: { totalSize: 1234, totalFileCount: 1, snapshotsCount: 1 } }),
    diff: notUsed,
    forget: notUsed,
    prune: async () => ({ ok: true, value: { output: [] } }),
    check: async () => ({ ok: true, value: { errors: [] } }),
    unlock: async () => ({ ok: true, value: undefined }),
    restore: notUsed,
    keyAdd: notUsed,
    keyRemove: notUsed,
    copy: notUsed,
    initCopyTarget: notUsed,
  };
}
