import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '@restic-manager/server';
import { LOCK_FILE, lockDataDir } from '../src/store/data-dir-lock.js';
import type { Harness } from './helpers/harness.js';
import { ADMIN_PASSWORD, enrolledAgent, eventually, startHarness } from './helpers/harness.js';

/*
 * One server per data directory (issue 22): a second server on the same directory stops before
 * it touches the database, so the first one's connected hosts stay online; a lock left by a
 * process that died (kill -9) does not block the next start.
 */
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'rm-lock-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The PID of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

describe('data directory lock', () => {
  it('a second server on the same data directory fails naming the directory and PID; the first one\'s hosts stay online', async () => {
    const h: Harness = await startHarness({ dataDir: tempDir() });
    try {
      const { agent, hostId } = await enrolledAgent(h, 'lock-host');
      await agent.connect();
      await eventually(async () => (await h.admin.req('GET', `/api/hosts/${hostId}`)).body.status === 'online');
      // On SQLite the database is a file of the data dir: it must not change either.
      const dbFile = h.databaseUrl ? null : path.join(h.dataDir, 'restic-manager.db');
      const before = { files: readdirSync(h.dataDir).sort(), mtime: dbFile && statSync(dbFile).mtimeMs };
      // Another port (it would bind) and the same port (it would not): both refused by the lock.
      for (const listen of ['127.0.0.1:0', `127.0.0.1:${h.server.port}`]) {
        const second = startServer({ listen, dataDir: h.dataDir, cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'silent' }, { mountWeb: null });
        await expect(second).rejects.toThrow(`data directory ${h.dataDir} is in use by another restic-manager server (PID ${process.pid})`);
      }
      expect((await h.admin.req('GET', `/api/hosts/${hostId}`)).body.status).toBe('online');
      expect(readdirSync(h.dataDir).sort()).toEqual(before.files);
      expect(dbFile && statSync(dbFile).mtimeMs).toBe(before.mtime);
      agent.close();
    } finally {
      await h.close();
    }
  });

  it('a closed server releases the directory: the next one starts', async () => {
    const dataDir = tempDir();
    const first = await startHarness({ dataDir });
    await first.close();
    expect(readdirSync(dataDir)).not.toContain(LOCK_FILE);
    const next = await startHarness({ dataDir });
    await next.close();
  });

  it('a server that cannot bind its port marks no host offline and releases the lock it took', async () => {
    // A data dir as a kill -9'd server leaves it: a host still 'online' in the database.
    const dataDir = tempDir();
    const setup = await startHarness({ dataDir, databaseUrl: null }); // SQLite: the test edits the file
    const { hostId } = await enrolledAgent(setup, 'crashed-host');
    await setup.close();
    const dbFile = path.join(dataDir, 'restic-manager.db');
    const sql = new Database(dbFile);
    sql.prepare("UPDATE hosts SET status = 'online' WHERE id = ?").run(hostId);
    sql.close();
    const h = await startHarness({ dataDir: tempDir() });
    try {
      await expect(startServer({ listen: `127.0.0.1:${h.server.port}`, dataDir, cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'silent' }, { mountWeb: null })).rejects.toThrow(/EADDRINUSE/);
      const check = new Database(dbFile, { readonly: true });
      expect(check.prepare('SELECT status FROM hosts WHERE id = ?').get(hostId)).toEqual({ status: 'online' });
      check.close();
      expect(readdirSync(dataDir)).not.toContain(LOCK_FILE);
    } finally {
      await h.close();
    }
  });

  it('a lock left by a dead process (kill -9) is taken over', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: await deadPid(), hostname: os.hostname(), proc_start: null, token: 'old', acquired_at: '' }));
    const lock = lockDataDir(dir);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a lock whose PID was recycled by another process (other start time) is taken over', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.ppid, hostname: os.hostname(), proc_start: '1', token: 'old', acquired_at: '' }));
    lockDataDir(dir).release();
  });

  it('a corrupt (empty) lock file is taken over', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, LOCK_FILE), '');
    lockDataDir(dir).release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a live holder on this host, or any holder on another host, keeps the lock', () => {
    const dir = tempDir();
    const file = path.join(dir, LOCK_FILE);
    writeFileSync(file, JSON.stringify({ pid: process.ppid, hostname: os.hostname(), proc_start: null, token: 'live', acquired_at: '' }));
    expect(() => lockDataDir(dir)).toThrow(`(PID ${process.ppid})`);
    writeFileSync(file, JSON.stringify({ pid: 1, hostname: 'elsewhere.example', proc_start: null, token: 'far', acquired_at: '' }));
    expect(() => lockDataDir(dir)).toThrow('(PID 1 on elsewhere.example)');
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
  });
});
