import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateRepositoryRequest, ControlPlaneBackupSettings } from '@restic-manager/protocol';
import { requireTool } from '@restic-manager/testkit';
import { loadOrCreateKey, SecretBox } from '../src/crypto/secret-box.js';
import { createLogger } from '../src/logger.js';
import { createRepositories, inTransaction } from '../src/repositories/index.js';
import type { Actor, ServiceDeps } from '../src/services/context.js';
import { createServices } from '../src/services/services.js';
import type { Services } from '../src/services/services.js';
import { migrate, openStore } from '../src/store/db.js';
import type { Db } from '../src/store/db.js';

/*
 * Issue 20: the control-plane backup fires server-side once per fleet. Two server processes'
 * service graphs on one SQLite database (one data directory) tick their schedulers on the same
 * clock: each fire time gives one restic snapshot, whoever holds the `control-plane-backup`
 * lease; when the holder stops, the other takes over and fires the time it missed, once.
 */
const PW = 'lease-test-password-MARKER-1f0a';
const restic = requireTool('restic');
const admin: Actor = { kind: 'user', id: 'u-admin', name: 'admin', role: 'admin' };

describe.skipIf(!restic.ok)('control-plane backup: one fire per fleet (lease)', () => {
  let tmp: string;
  let repoDir: string;
  let close: () => Promise<void>;
  let db: Db;
  let p1: Services;
  let p2: Services;
  let clock = Date.parse('2026-03-01T00:00:00.000Z');

  const snapshots = (): number => {
    const r = spawnSync('restic', ['--no-cache', 'snapshots', '--json', '--tag', 'restic-manager-control-plane'], { env: { ...process.env, RESTIC_REPOSITORY: repoDir, RESTIC_PASSWORD: PW }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return (JSON.parse(r.stdout) as unknown[]).length;
  };

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rm-cp-lease-'));
    const dataDir = path.join(tmp, 'data');
    repoDir = path.join(tmp, 'repo');
    const init = spawnSync('restic', ['init', '--repo', repoDir], { env: { ...process.env, RESTIC_PASSWORD: PW }, encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    const secretKeyFile = path.join(dataDir, 'secret.key');
    const { key } = loadOrCreateKey(secretKeyFile);
    const store = openStore(path.join(dataDir, 'restic-manager.db'));
    await migrate(store.db);
    close = () => store.close();
    db = store.db;
    const box = new SecretBox(key);
    const offline = { send: () => false, isConnected: () => false, disconnect: () => undefined, connectedCount: () => 0 };
    const processOn = (): Services => {
      const d: ServiceDeps = { db: store.db, repos: createRepositories(store.db), inTx: inTransaction(store.db), box, log: createLogger('silent'), agents: offline, now: () => clock, baseUrl: () => 'http://127.0.0.1:1' };
      return createServices(d, { idleMs: 3600_000, absoluteMs: 7200_000, passwordLogin: true }, {}, undefined, {}, { paths: { dataDir, secretKeyFile, databaseUrl: null } });
    };
    p1 = processOn();
    p2 = processOn();
    const repo = await p1.repositories.create(admin, CreateRepositoryRequest.parse({ name: 'cp', url: repoDir, password: PW }));
    // Every minute, on the test's clock.
    await p1.controlPlaneBackup.update(admin, ControlPlaneBackupSettings.parse({ enabled: true, cron_expr: '* * * * *', time_zone: 'UTC', repository_id: repo.repository.id }));
  });
  afterAll(async () => {
    p1?.notifier.close();
    p2?.notifier.close();
    await close?.();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('both processes tick; each fire time runs once; after the holder stops the other takes over and fires the missed time once', async () => {
    // 6 ticks, 20 s apart: fire times at :01:00 and :02:00 → two runs between the two processes.
    let ranP1 = 0;
    let ranP2 = 0;
    for (let i = 0; i < 6; i++) {
      clock += 20_000;
      const [a, b] = await Promise.all([p1.controlPlaneBackupScheduler.tick(), p2.controlPlaneBackupScheduler.tick()]);
      ranP1 += a ? 1 : 0;
      ranP2 += b ? 1 : 0;
    }
    expect(snapshots()).toBe(2);
    // Only the lease holder ran them (the other never even tried to claim the run).
    expect([ranP1, ranP2].sort()).toEqual([0, 2]);
    const view = await p2.controlPlaneBackup.get();
    expect(view.last_run).toMatchObject({ status: 'succeeded', trigger: 'schedule' });

    // The holder stops (as if killed: its lease is left to expire); the other takes over.
    const holder = async () => (await db.selectFrom('leases').select('holder').where('name', '=', 'control-plane-backup').executeTakeFirstOrThrow()).holder;
    const [stays] = (await holder()) === p1.leases.holder ? [p2] : [p1];
    // The fire time 00:03:00 passes while no process ticks (the holder died at 00:02:00).
    clock += 70_000;
    await db.updateTable('leases').set({ expires_at: new Date(Date.now() - 1).toISOString() }).where('name', '=', 'control-plane-backup').execute();
    expect(await stays.controlPlaneBackupScheduler.tick()).toBe(true); // the missed time, once
    expect(snapshots()).toBe(3);
    for (let i = 0; i < 2; i++) {
      clock += 20_000; // 00:03:30, 00:03:50: nothing due
      expect(await stays.controlPlaneBackupScheduler.tick()).toBe(false);
    }
    clock += 20_000; // 00:04:10
    expect(await stays.controlPlaneBackupScheduler.tick()).toBe(true);
    expect(snapshots()).toBe(4);
    expect(await holder()).toBe(stays.leases.holder);

    // A process that died mid-run left its claim: the schedule waits for it, then (after 6 h) takes it over.
    await db.updateTable('control_plane_backup').set({ running_since: new Date(clock).toISOString() }).execute();
    clock += 60_000;
    expect(await stays.controlPlaneBackupScheduler.tick()).toBe(false);
    clock += 6 * 3600_000;
    expect(await stays.controlPlaneBackupScheduler.tick()).toBe(true);
    expect(snapshots()).toBe(5);
    expect((await stays.controlPlaneBackup.get()).running_since).toBeNull();
  });
});
