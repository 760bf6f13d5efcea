import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '@restic-manager/server';
import type { RunningServer } from '@restic-manager/server';
import { makeCorpus, requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { ADMIN_PASSWORD, AGENT_MAIN, Api, eventually, ROOT, runAgentCli, runCollect, runJobVia, waitJobVia } from './agent-harness.js';
import type { Json } from './agent-harness.js';
import { tree } from './restore-helpers.js';

/*
 * Losing the control plane (docs/operations.md): a populated server (host, repository, schedule,
 * a real agent with a backup) is backed up with `restic-manager server backup` while it runs,
 * its data directory is deleted, `restic-manager server restore` rebuilds it, a server starts on
 * a new port, the same agent reconnects with its stored token, and a backup and a restore of the
 * host still work with the credentials the restored database holds. The recovery kit's shares and
 * its repository export are used the way an operator would: the real `age` CLI decrypts the export
 * and plain restic reads the host's repository with it.
 */

const CLI = path.join(ROOT, 'packages/cli/dist/main.js');
const REPO_PASSWORD = 'control-plane-e2e-repo-password-5e1f';
const CP_PASSWORD = 'control-plane-backup-password-88a0';
const missing = ['restic', 'age', 'age-keygen'].filter((t) => !requireTool(t).ok);
if (missing.length) console.warn(`skipping control-plane e2e: missing ${missing.join(', ')}`);

function runCli(args: string[], env: Record<string, string>, stdin?: string): Promise<{ code: number | null; out: string; err: string }> {
  return runCollect(process.execPath, [CLI, ...args], { env, input: stdin ?? '' });
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return runCollect(cmd, args, { env });
}

describe.skipIf(missing.length > 0)('control plane: back up, lose, restore; break-glass recovery kit', () => {
  let tmp: TempDir;
  let server: RunningServer | null = null;
  let agent: ChildProcess | null = null;
  let api: Api;
  let hostId = '';
  let scheduleId = '';
  let src = '';
  let dataA = '';
  let agentDir = '';
  let ageKey = '';
  let recipient = '';
  const cpRepo = (): string => path.join(tmp.path, 'cp-repo');
  const cpEnv = (): Record<string, string> => ({ RESTIC_REPOSITORY: cpRepo(), RESTIC_PASSWORD_FILE: path.join(tmp.path, 'cp-password') });
  const log = new PassThrough();
  log.resume();
  const boot = (dataDir: string): Promise<RunningServer> => startServer({ listen: '127.0.0.1:0', dataDir, cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'warn' }, { logStream: log, mountWeb: null });
  const startAgent = async (): Promise<void> => {
    agent = spawn(process.execPath, [AGENT_MAIN, 'run', '--state-dir', agentDir], { env: { ...process.env, RM_AGENT_HEARTBEAT_MS: '1000', RM_AGENT_BACKOFF_MAX_MS: '1000' }, stdio: ['ignore', 'ignore', 'ignore'] });
    await eventually(async () => (await api.req('GET', `/api/hosts/${hostId}`)).body.status === 'online', 20_000, 'host online');
  };
  const stopAgent = async (): Promise<void> => {
    const a = agent;
    agent = null;
    if (!a || a.exitCode !== null || a.signalCode !== null) return;
    await new Promise<void>((r) => {
      a.once('exit', () => r());
      a.kill('SIGTERM');
    });
  };

  beforeAll(async () => {
    tmp = await tempDir('rm-control-plane-e2e-');
    dataA = path.join(tmp.path, 'server-a');
    agentDir = path.join(tmp.path, 'agent');
    src = path.join(tmp.path, 'src');
    await makeCorpus(src, { files: 12, totalBytes: 256 * 1024, seed: 'control-plane' });
    fs.writeFileSync(path.join(tmp.path, 'cp-password'), `${CP_PASSWORD}\n`, { mode: 0o600 });
    const kg = await run('age-keygen', ['-o', path.join(tmp.path, 'age.key')]);
    expect(kg.code, kg.err).toBe(0);
    ageKey = path.join(tmp.path, 'age.key');
    recipient = /age1[0-9a-z]+/.exec(fs.readFileSync(ageKey, 'utf8'))?.[0] ?? '';

    server = await boot(dataA);
    api = new Api(server.url);
    await api.login();
    const add = await api.req('POST', '/api/hosts', { name: 'cp-host', repository: { url: path.join(tmp.path, 'repo'), password: REPO_PASSWORD, append_only: false } });
    expect(add.status, JSON.stringify(add.body)).toBe(201);
    hostId = add.body.host_id as string;
    const enroll = await runAgentCli(['enroll', '--server', server.url, '--state-dir', agentDir], { RM_TOKEN: add.body.token as string });
    expect(enroll.code, enroll.err).toBe(0);
    await startAgent();
    expect((await waitJobVia(api, await runJobVia(api, hostId, 'init'))).status).toBe('succeeded');
    expect((await waitJobVia(api, await runJobVia(api, hostId, 'backup', { paths: [src], tags: ['before'] }))).status).toBe('succeeded');
    const sched = await api.req('POST', `/api/hosts/${hostId}/schedules`, { kind: 'backup', cron_expr: '0 3 * * *', paths: [src], tags: ['nightly'] });
    expect(sched.status, JSON.stringify(sched.body)).toBe(201);
    scheduleId = sched.body.id as string;
  });

  afterAll(async () => {
    await stopAgent().catch(() => undefined);
    await server?.close().catch(() => undefined);
    await tmp?.cleanup();
  });

  it('each subcommand has its own --help with an exit-status table; bad flags exit 2 naming the problem', async () => {
    for (const [args, usage] of [
      [['server', 'backup', '--help'], 'Usage: restic-manager server backup'],
      [['server', 'restore', '--help'], 'Usage: restic-manager server restore'],
      [['server', 'recovery-kit', '--help'], 'Usage: restic-manager server recovery-kit'],
      [['server', 'recovery-kit', 'combine', '--help'], 'restic-manager server recovery-kit combine'],
      [['server', '--help'], 'recovery-kit   split the secret key'],
    ] as const) {
      const r = await runCli([...args], {});
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain(usage);
      if (args[1] !== '--help') expect(r.out).toContain('Exit status:');
    }
    const bad = await runCli(['server', 'recovery-kit', '--shares', '3', '--threshold', '4', '--out', path.join(tmp.path, 'never')], { RM_DATA_DIR: dataA });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--threshold must be a whole number from 2 to --shares (3)');
    expect(fs.existsSync(path.join(tmp.path, 'never'))).toBe(false);
    const noRepo = await runCli(['server', 'backup'], { RM_DATA_DIR: dataA, RESTIC_REPOSITORY: '', RESTIC_REPOSITORY_FILE: '' });
    expect(noRepo.code).toBe(2);
    expect(noRepo.err).toContain('--repo (or RESTIC_REPOSITORY) is required');
  });

  it('recovery-kit: 3 of 5 shares give the key back, 2 are refused; the age-sealed export opens the repository with plain restic', async () => {
    const kitDir = path.join(tmp.path, 'kit');
    const kit = await runCli(['server', 'recovery-kit', '--shares', '5', '--threshold', '3', '--out', kitDir, '--recipient', recipient, '--json'], { RM_DATA_DIR: dataA });
    expect(kit.code, kit.err).toBe(0);
    const made = JSON.parse(kit.out) as Json;
    expect(made).toMatchObject({ threshold: 3, shares: 5, repositories: 1 });
    expect(fs.statSync(kitDir).mode & 0o777).toBe(0o700);
    for (const f of made.files as string[]) expect(fs.statSync(f).mode & 0o777, f).toBe(0o600);
    expect(fs.readFileSync(path.join(kitDir, 'share-2-of-5.svg'), 'utf8')).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    // Nothing secret in the kit's printed output, nor the export in the clear.
    const key = fs.readFileSync(path.join(dataA, 'secret.key'), 'utf8').trim();
    expect(kit.out + kit.err).not.toContain(key);
    expect(fs.readFileSync(path.join(kitDir, 'repositories.json.age')).toString('latin1')).not.toContain(REPO_PASSWORD);

    const pages = [1, 3, 5].map((i) => fs.readFileSync(path.join(kitDir, `share-${i}-of-5.txt`), 'utf8')).join('\n');
    const combined = await runCli(['server', 'recovery-kit', 'combine', '--out', path.join(tmp.path, 'combined.key')], {}, pages);
    expect(combined.code, combined.err).toBe(0);
    expect(fs.readFileSync(path.join(tmp.path, 'combined.key'), 'utf8').trim()).toBe(key);
    expect(fs.statSync(path.join(tmp.path, 'combined.key')).mode & 0o777).toBe(0o600);
    const two = await runCli(['server', 'recovery-kit', 'combine', '--out', path.join(tmp.path, 'two.key'), '--share-file', path.join(kitDir, 'share-2-of-5.txt'), '--share-file', path.join(kitDir, 'share-4-of-5.txt')], {});
    expect(two.code).toBe(1);
    expect(two.err).toContain('needs 3 different shares; got 2');
    expect(fs.existsSync(path.join(tmp.path, 'two.key'))).toBe(false);

    // The operator's path with restic-manager gone: age -d, then plain restic with restic_env.
    const dec = await run('age', ['-d', '-i', ageKey, path.join(kitDir, 'repositories.json.age')]);
    expect(dec.code, dec.err).toBe(0);
    const doc = JSON.parse(dec.out) as Json;
    expect(doc.format).toBe('restic-manager-repositories/1');
    expect(doc.repositories).toHaveLength(1);
    expect(doc.repositories[0]).toMatchObject({ name: 'cp-host', password: REPO_PASSWORD, hosts: ['cp-host'] });
    const snaps = await run('restic', ['snapshots', '--json', '--no-cache'], doc.repositories[0].restic_env as Record<string, string>);
    expect(snaps.code, snaps.err).toBe(0);
    expect((JSON.parse(snaps.out) as Json[]).map((s) => s.tags)).toContainEqual(['before']);
  });

  it('server backup (live, age-encrypted) → data dir deleted → server restore → new port: the agent reconnects, backup and restore work', async () => {
    const b = await runCli(['server', 'backup', '--init', '--recipient', recipient, '--json'], { ...cpEnv(), RM_DATA_DIR: dataA });
    expect(b.code, b.err).toBe(0);
    expect(JSON.parse(b.out)).toMatchObject({ store: 'sqlite', encrypted: true, includes_key: true });
    // The restic password alone does not open the database or the key: both are age files.
    const ls = await run('restic', ['ls', 'latest', '--no-cache'], { RESTIC_REPOSITORY: cpRepo(), RESTIC_PASSWORD: CP_PASSWORD });
    expect(ls.code, ls.err).toBe(0);
    expect(ls.out).toMatch(/restic-manager\.db\.age/);
    expect(ls.out).toMatch(/secret\.key\.age/);
    expect(ls.out).not.toMatch(/restic-manager\.db\n/);

    // Lose the machine.
    await stopAgent();
    await server!.close();
    server = null;
    fs.rmSync(dataA, { recursive: true, force: true });

    const dataB = path.join(tmp.path, 'server-b');
    const noId = await runCli(['server', 'restore', '--data-dir', dataB], cpEnv());
    expect(noId.code).toBe(2);
    expect(noId.err).toContain('give --identity');
    fs.rmSync(dataB, { recursive: true, force: true });
    const r = await runCli(['server', 'restore', '--data-dir', dataB, '--identity', ageKey, '--json'], cpEnv());
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ store: 'sqlite', repositories: 1 });
    expect(fs.statSync(path.join(dataB, 'secret.key')).mode & 0o777).toBe(0o600);

    server = await boot(dataB);
    const oldUrl = api.url;
    expect(server.url).not.toBe(oldUrl);
    api = new Api(server.url);
    await api.login();
    expect((await api.req('GET', `/api/hosts/${hostId}`)).body.name).toBe('cp-host');
    const schedules = await api.req('GET', `/api/hosts/${hostId}/schedules`);
    expect(JSON.stringify(schedules.body)).toContain(scheduleId);

    // The machine's address changed: point the agent at it (a DNS name would make this unnecessary).
    const yamlFile = path.join(agentDir, 'agent.yaml');
    fs.writeFileSync(yamlFile, fs.readFileSync(yamlFile, 'utf8').replaceAll(oldUrl, server.url), { mode: 0o600 });
    await startAgent();
    const backup = await waitJobVia(api, await runJobVia(api, hostId, 'backup', { paths: [src], tags: ['after'] }));
    expect(backup.status).toBe('succeeded');
    const snaps = await eventually(async () => {
      const s = await api.req('GET', `/api/hosts/${hostId}/snapshots`);
      return (s.body.items as Json[]).some((x) => (x.tags as string[]).includes('after')) ? (s.body.items as Json[]) : null;
    }, 20_000, 'the new snapshot');
    const target = path.join(tmp.path, 'restored');
    const restore = await api.req('POST', `/api/hosts/${hostId}/restore`, { snapshot_id: snaps.find((x) => (x.tags as string[]).includes('after')).id, restore_to: 'directory', target });
    expect(restore.status, JSON.stringify(restore.body)).toBe(202);
    expect((await waitJobVia(api, restore.body.job.id as string)).status).toBe('succeeded');
    expect(tree(path.join(target, src))).toEqual(tree(src));
  });

  it('a backup made --without-key restores only with the key combined from the recovery kit', async () => {
    const dataB = path.join(tmp.path, 'server-b');
    await server!.close();
    server = null;
    const b = await runCli(['server', 'backup', '--without-key', '--json'], { ...cpEnv(), RM_DATA_DIR: dataB });
    expect(b.code, b.err).toBe(0);
    expect(JSON.parse(b.out)).toMatchObject({ encrypted: false, includes_key: false });
    const dataC = path.join(tmp.path, 'server-c');
    const without = await runCli(['server', 'restore', '--data-dir', dataC], cpEnv());
    expect(without.code).toBe(2);
    expect(without.err).toContain('--without-key');
    fs.rmSync(dataC, { recursive: true, force: true });
    const wrong = path.join(tmp.path, 'wrong.key');
    fs.writeFileSync(wrong, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    const bad = await runCli(['server', 'restore', '--data-dir', dataC, '--key-from', wrong], cpEnv());
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('is not the key this backup was made with');
    fs.rmSync(dataC, { recursive: true, force: true });
    const ok = await runCli(['server', 'restore', '--data-dir', dataC, '--key-from', path.join(tmp.path, 'combined.key'), '--json'], cpEnv());
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ repositories: 1 });
  });
});
