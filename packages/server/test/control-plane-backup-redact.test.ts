import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneBackupSettings, CreateRepositoryRequest } from '@restic-manager/protocol';
import type { ControlPlaneBackupOptions } from '../src/controlplane/backup.js';
import { loadOrCreateKey, SecretBox } from '../src/crypto/secret-box.js';
import { createLogger } from '../src/logger.js';
import { createRepositories, inTransaction } from '../src/repositories/index.js';
import type { Actor, ServiceDeps } from '../src/services/context.js';
import { createServices } from '../src/services/services.js';
import type { Services } from '../src/services/services.js';
import { migrate, openStore } from '../src/store/db.js';
import type { Db } from '../src/store/db.js';

/*
 * Defence in depth (issue 20): restic's error text is recorded and shown, so a backend that
 * echoed a credential (a REST URL with its login, an S3 key) must not carry it into the last run,
 * the alert, the audit log or the server's log. The runner here fails the way restic would if it
 * printed them (restic itself strips URL passwords; this proves the server does not depend on
 * that). It also checks what reaches restic: the repository's password and keys, in its
 * environment only.
 */
const PW = 'redact-repo-password-MARKER-44aa';
const KEY_ID = 'AKIA-REDACT-MARKER-1234';
const SECRET = 'redact-s3-secret-MARKER-77bb';
const admin: Actor = { kind: 'user', id: 'u-admin', name: 'admin', role: 'admin' };

describe('control-plane backup: secrets in a failure are cut out', () => {
  let tmp: string;
  let db: Db;
  let close: () => Promise<void>;
  let s: Services;
  const logs: string[] = [];
  const seen: ControlPlaneBackupOptions[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'rm-cp-redact-'));
    const dataDir = path.join(tmp, 'data');
    const secretKeyFile = path.join(dataDir, 'secret.key');
    const { key } = loadOrCreateKey(secretKeyFile);
    const store = openStore(path.join(dataDir, 'restic-manager.db'));
    await migrate(store.db);
    db = store.db;
    close = () => store.close();
    const out = new PassThrough();
    out.on('data', (b: Buffer) => logs.push(b.toString()));
    const offline = { send: () => false, isConnected: () => false, disconnect: () => undefined, connectedCount: () => 0 };
    const d: ServiceDeps = { db, repos: createRepositories(db), inTx: inTransaction(db), box: new SecretBox(key), log: createLogger('debug', out), agents: offline, now: Date.now, baseUrl: () => 'http://127.0.0.1:1' };
    s = createServices(d, { idleMs: 3600_000, absoluteMs: 7200_000, passwordLogin: true }, {}, undefined, {}, {
      paths: { dataDir, secretKeyFile, databaseUrl: null },
      runner: (o) => {
        seen.push(o);
        return Promise.reject(new Error(`restic backup failed (exit 1): Fatal: unable to open s3:https://${KEY_ID}:${SECRET}@s3.example.net/b with password ${PW} (${encodeURIComponent(SECRET)})`));
      },
    });
    const repo = await s.repositories.create(admin, CreateRepositoryRequest.parse({
      name: 'offsite-cp', url: 's3:https://s3.example.net/bucket/cp', password: PW,
      credentials: { backend: 's3', access_key_id: KEY_ID, secret_access_key: SECRET, region: 'eu-west-1', path_style: true },
    }));
    await s.controlPlaneBackup.update(admin, ControlPlaneBackupSettings.parse({ repository_id: repo.repository.id }));
  });
  afterAll(async () => {
    s?.notifier.close();
    await close?.();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('hands restic the credentials in its environment only, and records the failure without them', async () => {
    const v = await s.controlPlaneBackup.runNow(admin);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.target.env).toMatchObject({ RESTIC_REPOSITORY: 's3:https://s3.example.net/bucket/cp', RESTIC_PASSWORD: PW, AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET });
    expect(seen[0]?.target.args).toEqual(['-o', 's3.bucket-lookup=path']);
    expect(v.last_run?.status).toBe('failed');
    expect(v.last_run?.error).toContain('[redacted]');
    expect(v.last_run?.error).toContain('unable to open');

    const alerts = await db.selectFrom('alerts').select(['kind', 'message', 'host_id']).where('kind', '=', 'control_plane_backup_failed').execute();
    expect(alerts).toHaveLength(1);
    const audit = await db.selectFrom('audit_log').select('payload').execute();
    const texts = { view: JSON.stringify(v), alert: JSON.stringify(alerts), audit: JSON.stringify(audit), logs: logs.join('') };
    for (const secret of [PW, KEY_ID, SECRET, encodeURIComponent(SECRET)]) {
      expect(Object.entries(texts).filter(([, t]) => t.includes(secret)).map(([w]) => w), secret).toEqual([]);
    }
    expect(texts.logs).toContain('control-plane backup failed');
  });
});
