import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import { SecretBox, loadOrCreateKey } from '../src/crypto/secret-box.js';
import { hashToken } from '../src/crypto/tokens.js';
import { MIGRATIONS } from '../src/migrations/index.js';
import { HostRepository } from '../src/repositories/host.repository.js';
import { JobRepository } from '../src/repositories/job.repository.js';
import { RepoRepository } from '../src/repositories/repo.repository.js';
import { ScheduleRepository } from '../src/repositories/schedule.repository.js';
import { SnapshotRepository } from '../src/repositories/snapshot.repository.js';
import { migrate, openStore } from '../src/store/db.js';
import type { Db } from '../src/store/db.js';
import { openPgStore } from '../src/store/pg.js';
import { startHarness } from './helpers/harness.js';
import { storeEngines } from './helpers/stores.js';

/*
 * Migration 0016 (issue 15) on a database made by the previous release: migrations up to 0015
 * and real rows written through the repositories as that release wrote them (sealed password
 * and REST login rows, a schedule with a sealed hook, snapshots, a job). After the upgrade a
 * server on that database must show every repository with its backend and host link, decrypt
 * the old secrets into config.update, and keep schedules, snapshots and jobs as they were.
 */
const LAST_OLD = '0015_credential_rotation';
const T = '2026-06-01T10:00:00.000Z';
const REPO_PW = 'old-repo-password-MARKER-1';
const REST_PW = 'old-rest-password-MARKER-2';
const LOCAL_PW = 'old-local-password-MARKER-3';
const HOOK = 'pg_dump app > /var/backups/app.sql';
const BEARER = 'old-agent-bearer-token-0123456789abcdef';

const engines = storeEngines();
afterAll(async () => {
  for (const e of engines) await e.stop();
});

async function oldRelease(db: Db, box: SecretBox): Promise<void> {
  expect(await migrate(db, LAST_OLD)).toEqual(Object.keys(MIGRATIONS).filter((n) => n <= LAST_OLD));
  const repos = new RepoRepository(db);
  const hosts = new HostRepository(db);
  const cred = async (id: string, kind: 'rest' | 'repo_password', secret: string, username: string | null = null) =>
    repos.insertCredential({ id, kind, username, secret_enc: box.seal(secret, `credential:${id}`), rotated_at: T });
  await cred('pw-a', 'repo_password', REPO_PW);
  await cred('rest-a', 'rest', REST_PW, 'host-a');
  await cred('pw-b', 'repo_password', LOCAL_PW);
  const repo = (id: string, url: string, kind: 'rest' | 'local', credentialId: string | null, pwId: string) => repos.insert({
    id, name: id, url, kind, credential_id: credentialId, password_secret_id: pwId, size_bytes: 123456789, snapshot_count: 2, dedup_ratio: 1.5,
    last_check_at: T, last_check_status: 'ok', lock_state: null, append_only: kind === 'rest' ? 1 : 0, credential_rotated_at: T, created_at: T,
  });
  await repo('repo-a', 'rest:http://10.0.0.5:8000/host-a/', 'rest', 'rest-a', 'pw-a');
  await repo('repo-b', '/srv/restic/host-b', 'local', null, 'pw-b');
  const host = (id: string, repoId: string, token: string | null) => hosts.insert({
    id, name: id, hostname: id, os: 'linux', arch: 'x64', agent_version: '1.0.0', restic_version: '0.17.0', protocol_version: 1,
    enrolled_at: T, last_seen_at: T, status: 'offline', repo_id: repoId, tags: '["prod"]', current_job_id: null, last_backup_at: T,
    last_backup_status: 'succeeded', repo_size_bytes: 123456789, snapshot_count: 2, applied_schedule_version: 1, agent_token_hash: token,
    repo_initialised_at: T, created_at: T,
  });
  await host('host-a', 'repo-a', hashToken(BEARER));
  await host('host-b', 'repo-b', null);
  await new ScheduleRepository(db).insert({
    id: 'sched-a', host_id: 'host-a', kind: 'backup', cron_expr: '0 3 * * *', time_zone: null, enabled: 1, paths: '["/etc"]', excludes: '[]',
    tags: '["nightly"]', retention_policy: null, options: '{}', pre_hook_enc: box.seal(HOOK, 'hook:pre:sched-a'), post_hook_enc: null, run_as: null,
    created_at: T, updated_at: T,
  });
  await new SnapshotRepository(db).replaceForHost('host-a', ['s1', 's2'].map((id) => ({
    id: `${id}${'0'.repeat(62)}`, host_id: 'host-a', repo_id: 'repo-a', short_id: id, time: T, hostname: 'host-a', paths: '["/etc"]', tags: '["nightly"]', size_bytes: 42, file_count: 3,
  })));
  await new JobRepository(db).insert({
    id: 'job-a', host_id: 'host-a', kind: 'backup', status: 'succeeded', schedule_id: 'sched-a', actor_kind: 'schedule', actor_id: 'sched-a',
    args_enc: null, created_at: T, started_at: T, finished_at: T, exit_code: 0, stats: null, error: null, error_kind: null, progress: null, progress_seq: null, dispatched_at: T,
  });
}

describe.each(engines.map((e) => [e.name, e] as const))('migration 0016 on %s', (_name, engine) => {
  it.skipIf(engine.skip !== null)('keeps every repository, link, schedule, snapshot and secret of the previous release', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rm-mig16-'));
    try {
      const box = new SecretBox(loadOrCreateKey(path.join(dataDir, 'secret.key')).key);
      const databaseUrl = engine.name === 'postgres' ? await engine.databaseUrl() : null;
      const store = databaseUrl ? openPgStore(databaseUrl, 2) : openStore(path.join(dataDir, 'restic-manager.db'));
      await oldRelease(store.db, box);
      await store.close();

      const h = await startHarness(databaseUrl ? { dataDir, databaseUrl } : { dataDir });
      try {
        const db = h.server.db;
        expect(await db.selectFrom('host_repositories').select(['host_id', 'repo_id', 'is_primary']).orderBy('host_id').execute())
          .toEqual([{ host_id: 'host-a', repo_id: 'repo-a', is_primary: 1 }, { host_id: 'host-b', repo_id: 'repo-b', is_primary: 1 }]);
        // The legacy REST login row stays where it was (no key in a migration); it is read from there.
        expect(await db.selectFrom('credentials').select('id').orderBy('id').execute()).toEqual([{ id: 'pw-a' }, { id: 'pw-b' }, { id: 'rest-a' }]);

        const list = await h.admin.req('GET', '/api/repositories');
        expect(list.body.total).toBe(2);
        expect(list.body.items).toEqual([
          expect.objectContaining({
            id: 'repo-a', backend: 'rest', engine: 'restic', url: 'rest:http://10.0.0.5:8000/host-a/', host_ids: ['host-a'], password_set: true,
            credentials: { backend: 'rest', username: 'host-a', password_set: true }, append_only: true, size_bytes: 123456789, snapshot_count: 2,
          }),
          expect.objectContaining({ id: 'repo-b', backend: 'local', host_ids: ['host-b'], credentials: { backend: 'local' }, password_set: true }),
        ]);
        expect((await h.admin.req('GET', '/api/hosts/host-a/repo')).body).toMatchObject({ rest_username: 'host-a', has_password: true, dedup_ratio: 1.5 });
        const sched = (await h.admin.req('GET', '/api/hosts/host-a/schedules')).body.items;
        expect(sched).toEqual([expect.objectContaining({ id: 'sched-a', repository_id: null, has_pre_hook: true, tags: ['nightly'] })]);
        expect((await h.admin.req('GET', '/api/hosts/host-a/snapshots')).body.total).toBe(2);
        expect((await h.admin.req('GET', '/api/jobs/job-a')).body).toMatchObject({ status: 'succeeded', schedule_id: 'sched-a' });

        // The old agent bearer still works, and the old secrets decrypt into config.update.
        const agent = new FakeAgent({ url: h.url, bearer: BEARER, hostname: 'host-a' });
        await agent.connect();
        const cfg = await agent.next('config.update');
        expect(cfg).toEqual({
          type: 'config.update', repository: 'rest:http://10.0.0.5:8000/host-a/', password: REPO_PW, rest_username: 'host-a', rest_password: REST_PW,
          repositories: [{ id: 'repo-a', name: 'repo-a', engine: 'restic', url: 'rest:http://10.0.0.5:8000/host-a/', password: REPO_PW, credentials: { backend: 'rest', username: 'host-a', password: REST_PW } }],
        });
        const set = await agent.next('schedule.set');
        expect(set).toMatchObject({ schedules: [{ id: 'sched-a', pre_hook: HOOK }] });
        if (set.type === 'schedule.set') expect(set.schedules[0]?.repository_id).toBeUndefined();
        await agent.close();

        // Replacing the credentials moves the REST login into the sealed column and drops the old row.
        const patch = await h.admin.req('PATCH', '/api/repositories/repo-a', { credentials: { backend: 'rest', username: 'host-a2', password: `${REST_PW}-new` } });
        expect(patch.body.credentials).toEqual({ backend: 'rest', username: 'host-a2', password_set: true });
        expect(await db.selectFrom('credentials').select('id').where('id', '=', 'rest-a').execute()).toEqual([]);
        const row = await db.selectFrom('repos').select(['credentials_enc', 'credential_id']).where('id', '=', 'repo-a').executeTakeFirstOrThrow();
        expect(row.credential_id).toBeNull();
        expect(row.credentials_enc).not.toContain('host-a2');
      } finally {
        await h.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
