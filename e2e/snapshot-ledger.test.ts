import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from './local-stack.js';
import { LOCAL_REPO_PASSWORD, eventually, localStackTools, startLocalStack } from './local-stack.js';

/*
 * The snapshot ledger end to end (issue 16, docs/recoverability.md): the real server, the real
 * agent and real restic on a local repository. Two backups; one snapshot is deleted behind the
 * server's back with raw `restic forget <id>`; the next snapshots job's listing raises
 * snapshot_vanished naming it and freezes prune (run-now 409) until the admin acknowledges; an
 * authorised forget afterwards is recorded with its job and raises nothing.
 */

if (localStackTools.length) console.warn(`skipping snapshot ledger e2e: missing ${localStackTools.join(', ')}`);

interface Entry { snapshot_id: string; short_id: string; gone_at: string | null; removed_by_job_id: string | null; acknowledged_at: string | null }

describe.skipIf(localStackTools.length > 0)('snapshot ledger with a real agent and restic', { timeout: 180_000 }, () => {
  let s: LocalStack;
  let src: string;
  let repoId: string;

  beforeAll(async () => {
    s = await startLocalStack();
    src = path.join(s.tmp.path, 'src');
    fs.mkdirSync(src);
    const repos = await s.api.req('GET', `/api/hosts/${s.hostId}/repositories`);
    repoId = (repos.body as { items: { repository: { id: string } }[] }).items[0]!.repository.id;
  });
  afterAll(async () => s?.close());

  const ledger = async (q = ''): Promise<Entry[]> => ((await s.api.req('GET', `/api/repositories/${repoId}/ledger?limit=100${q}`)).body as { items: Entry[] }).items;
  const openAlerts = async (kind: string) => ((await s.api.req('GET', `/api/alerts?host_id=${s.hostId}&kind=${kind}&open=true`)).body as { items: { message: string; severity: string }[] }).items;
  const succeeded = async (kind: string, args: Record<string, unknown> = {}): Promise<string> => {
    const id = await s.runJob(kind, args);
    const job = await s.waitJob(id);
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    return id;
  };
  /** Raw restic against the repository, as someone holding its password would run it; retried while the agent's own listing holds a lock. */
  const rawRestic = async (args: string[]): Promise<string> => eventually(async () => {
    const r = spawnSync('restic', ['-r', s.repoDir, ...args], { env: { ...process.env, RESTIC_PASSWORD: LOCAL_REPO_PASSWORD }, encoding: 'utf8' });
    return r.status === 0 ? r.stdout : null;
  }, 30_000, `restic ${args.join(' ')}`);

  it('a snapshot forgotten with raw restic raises snapshot_vanished and freezes prune until the admin acknowledges', async () => {
    fs.writeFileSync(path.join(src, 'a.txt'), 'first version\n');
    await succeeded('backup', { paths: [src] });
    fs.writeFileSync(path.join(src, 'a.txt'), 'second version\n');
    await succeeded('backup', { paths: [src] });
    const present = await eventually(async () => {
      const all = await ledger();
      return all.length === 2 && all.every((e) => !e.gone_at) ? all : null;
    }, 30_000, 'two snapshots in the ledger');

    const listed = JSON.parse(await rawRestic(['snapshots', '--json', '--no-lock'])) as { id: string; short_id: string; time: string }[];
    expect(listed.map((x) => x.id).sort()).toEqual(present.map((e) => e.snapshot_id).sort());
    const victim = [...listed].sort((a, b) => a.time.localeCompare(b.time))[0]!;
    await rawRestic(['forget', victim.id]);

    await succeeded('snapshots');
    const [alert] = await eventually(async () => {
      const a = await openAlerts('snapshot_vanished');
      return a.length ? a : null;
    }, 30_000, 'snapshot_vanished');
    expect(alert!.severity).toBe('critical');
    expect(alert!.message).toContain(`1 snapshot of repository `);
    expect(alert!.message).toContain(`${victim.short_id} (${victim.time}, ${src}; last seen `);
    const repo = (await s.api.req('GET', `/api/repositories/${repoId}`)).body as { frozen_since: string | null; frozen_reason: string };
    expect(repo.frozen_reason).toBe(`frozen since ${repo.frozen_since}: 1 snapshot vanished without an authorised forget`);

    const refused = await s.api.req('POST', `/api/hosts/${s.hostId}/jobs`, { kind: 'prune', args: {} });
    expect(refused.status).toBe(409);
    expect((refused.body as { error: { fields: Record<string, string> } }).error.fields).toHaveProperty('repository_id');
    expect(s.argv().filter((a) => a.startsWith('prune') || a.includes(' prune'))).toEqual([]);

    const ack = await s.api.req('POST', `/api/repositories/${repoId}/ledger/acknowledge`);
    expect(ack.status).toBe(200);
    expect(await openAlerts('snapshot_vanished')).toEqual([]);
    const gone = await ledger('&gone=true');
    expect(gone).toEqual([expect.objectContaining({ snapshot_id: victim.id, removed_by_job_id: null })]);
    expect(gone[0]!.acknowledged_at).not.toBeNull();

    // Unfrozen: an authorised forget removes the other snapshot, recorded with its job, no alert.
    fs.writeFileSync(path.join(src, 'a.txt'), 'third version\n');
    await succeeded('backup', { paths: [src] });
    const forget = await succeeded('forget', { policy: { keep_last: 1 } });
    const removed = await eventually(async () => (await ledger('&gone=true')).find((e) => e.removed_by_job_id === forget) ?? null, 30_000, 'the forget recorded in the ledger');
    expect(removed.acknowledged_at).toBeNull();
    expect(await openAlerts('snapshot_vanished')).toEqual([]);
    expect(((await s.api.req('GET', `/api/repositories/${repoId}`)).body as { frozen_since: string | null }).frozen_since).toBeNull();
    await succeeded('prune');
    expect(await openAlerts('repository_keys_changed')).toEqual([]); // the agent reported the same keys after every job
  });

  it('a key added with raw restic raises repository_keys_changed at the next backup and freezes forget', async () => {
    const pwFile = path.join(s.tmp.path, 'intruder-password');
    fs.writeFileSync(pwFile, 'an-intruders-own-password-0001\n', { mode: 0o600 });
    await rawRestic(['key', 'add', '--new-password-file', pwFile]);
    const keys = (await rawRestic(['list', 'keys', '--no-lock'])).split('\n').filter((l) => /^[0-9a-f]{64}$/.test(l));
    expect(keys).toHaveLength(2);
    fs.writeFileSync(path.join(src, 'b.txt'), 'another file\n');
    await succeeded('backup', { paths: [src] });
    const [alert] = await eventually(async () => {
      const a = await openAlerts('repository_keys_changed');
      return a.length ? a : null;
    }, 30_000, 'repository_keys_changed');
    expect(alert!.severity).toBe('critical');
    const added = /key\(s\) added: ([0-9a-f]{8})/.exec(alert!.message)?.[1];
    expect(keys.map((k) => k.slice(0, 8))).toContain(added);
    const refused = await s.api.req('POST', `/api/hosts/${s.hostId}/jobs`, { kind: 'forget', args: { policy: { keep_last: 1 } } });
    expect(refused.status).toBe(409);
    expect((await s.api.req('POST', `/api/repositories/${repoId}/ledger/acknowledge`)).status).toBe(200);
    await succeeded('forget', { policy: { keep_last: 1 } });
  });
});
