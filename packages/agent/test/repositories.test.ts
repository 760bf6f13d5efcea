import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import { jobForSchedule, readAgentConfig, readSecrets, statePaths } from '@restic-manager/agent';
import type { Agent } from '@restic-manager/agent';
import type { RepositoryConfig, ScheduleSpec } from '@restic-manager/protocol';
import { allCmdlines, makeCorpus, requireTool, sshdPath, startSftpServer, tempDir, type SftpServer, type TempDir } from '@restic-manager/testkit';
import { FakeServer, type Frame } from './helpers/fake-server.js';
import { fixture, until, type Fixture } from './helpers/fixture.js';

/*
 * Issue 15 on the agent: repositories as objects (command.run.repository, a schedule's
 * repository_id from config.update.repositories) and the repo.test request — with real restic,
 * a real OpenSSH server on loopback and local repositories. Nothing is mocked.
 */

const missing = [requireTool('restic'), requireTool('ssh')].find((t) => !t.ok);
const why = missing && !missing.ok ? missing.reason : sshdPath() ? null : 'sshd is not installed (openssh-server)';
if (why) console.warn(`skipping the agent repository tests: ${why}`);

const PRIMARY_PW = 'primary-pw-6b1e0f';
const SFTP_PW = 'sftp-repo-pw-2d9c4a';
const LOCAL_PW = 'local-b-pw-7a3f11';

describe.skipIf(why !== null)('agent: repositories with backend credentials, and repo.test (real restic, real sshd)', () => {
  let sftp: SftpServer;
  let server: FakeServer;
  let fx: Fixture;
  let tmp: TempDir;
  let src: string;
  let agent: Agent;
  let n = 0;
  const of = (job: string, type: string) => (f: Frame): boolean => f.job_id === job && f.type === type;
  const sftpRepo = (over: Partial<RepositoryConfig> = {}, creds: Record<string, unknown> = {}): RepositoryConfig => ({
    id: 'repo-sftp', name: 'nas', engine: 'restic', url: sftp.repoUrl('nas'), password: SFTP_PW,
    ...over,
    credentials: { backend: 'sftp', private_key: sftp.privateKey, known_hosts: sftp.knownHosts, ...creds } as RepositoryConfig['credentials'],
  });
  const localRepo = (): RepositoryConfig => ({ id: 'repo-local-b', name: 'second disk', engine: 'restic', url: `local:${path.join(tmp.path, 'repo-b')}`, password: LOCAL_PW, credentials: { backend: 'local' } });
  const jobFiles = (): string => statePaths(fx.dir).jobFiles;

  async function repoTest(repository: unknown): Promise<Frame> {
    const id = `t${++n}`;
    server.send({ type: 'repo.test', request_id: id, repository });
    return server.waitFor((f) => f.type === 'repo.test.result' && f.request_id === id, 90_000);
  }
  async function run(job: string, kind: string, args: object, repository?: RepositoryConfig): Promise<Frame> {
    server.send({ type: 'command.run', job_id: job, kind, args, ...(repository ? { repository } : {}) });
    return server.waitFor(of(job, 'job.finished'), 90_000);
  }
  /** Stops the agent and starts another on the same state directory; resolves once it said hello. */
  async function restart(extra: Parameters<Fixture['start']>[1]): Promise<void> {
    const hellos = server.frames.filter((f) => f.type === 'hello').length;
    await agent.stop();
    fx.agents.splice(fx.agents.indexOf(agent), 1); // stopped once only: a second close would close the next agent's reused outbox fd
    agent = await fx.start(createEngine('restic'), extra);
    await until(() => server.frames.filter((f) => f.type === 'hello').length > hellos, 15_000, 'the restarted agent to say hello');
  }
  const secrets = (): string[] => [sftp.privateKey.split('\n')[1]!, SFTP_PW, LOCAL_PW, PRIMARY_PW];
  function expectNoSecretsSent(): void {
    const frames = JSON.stringify(server.frames);
    const logs = fx.logs.join('\n');
    for (const s of secrets()) {
      expect(frames.includes(s), `a secret (${s.slice(0, 5)}…) reached a frame`).toBe(false);
      expect(logs.includes(s), `a secret (${s.slice(0, 5)}…) reached the agent log`).toBe(false);
    }
  }

  beforeAll(async () => {
    sftp = await startSftpServer();
    tmp = await tempDir('rm-agent-repos-');
    src = path.join(tmp.path, 'src');
    await makeCorpus(src, { files: 8, totalBytes: 100_000, seed: 'repos' });
    server = await FakeServer.start();
    fx = fixture(server.url());
    agent = await fx.start(createEngine('restic'), { engine: async (name) => createEngine(name ?? 'restic') });
    await server.waitFor((f) => f.type === 'hello');
    server.send({ type: 'config.update', repository: path.join(tmp.path, 'primary'), password: PRIMARY_PW, repositories: [localRepo(), sftpRepo()] });
    await until(() => readSecrets(statePaths(fx.dir).secrets, readAgentConfig(statePaths(fx.dir).config).secrets_key)?.repositories?.length === 2, 10_000, 'the repositories sealed in secrets.enc');
  }, 60_000);
  afterAll(async () => {
    await fx?.cleanup();
    await server?.close();
    await sftp?.stop();
    await tmp?.cleanup();
  });

  it('repo.test: not initialised (empty), then ok with the snapshot count once init ran through command.run.repository', async () => {
    expect(await repoTest(sftpRepo())).toMatchObject({ ok: false, empty: true, error_kind: 'not_initialised', snapshot_count: null, error: expect.stringMatching(/no repository at this location yet/) });
    expect(await run('init-sftp', 'init', {}, sftpRepo())).toMatchObject({ status: 'succeeded' });
    expect(await repoTest(sftpRepo())).toMatchObject({ ok: true, empty: false, snapshot_count: 0, error_kind: null, error: null });
    expect(fs.existsSync(path.join(tmp.path, 'primary'))).toBe(false); // the host's primary repository was never touched
  });

  it('repo.test: wrong password, changed host key, unreachable, invalid credentials — each with its own kind', async () => {
    expect(await repoTest(sftpRepo({ password: 'not-the-password' }))).toMatchObject({ ok: false, empty: false, error_kind: 'wrong_password' });
    const mismatch = await repoTest(sftpRepo({}, { known_hosts: sftp.wrongKnownHosts }));
    expect(mismatch).toMatchObject({ ok: false, error_kind: 'host_key_mismatch', error: expect.stringMatching(/host key does not match/) });
    expect(await repoTest(sftpRepo({}, { port: 1 }))).toMatchObject({ ok: false, error_kind: 'unreachable' });
    const invalid = await repoTest({ ...sftpRepo(), credentials: { backend: 'sftp', private_key: sftp.privateKey } });
    expect(invalid).toMatchObject({ ok: false, error_kind: 'failed', error: expect.stringMatching(/repository\.credentials\.known_hosts/) });
    const mismatched = await repoTest({ ...sftpRepo(), credentials: { backend: 'local' } });
    expect(mismatched).toMatchObject({ ok: false, error_kind: 'failed', error: expect.stringMatching(/credentials\.backend: the URL is a sftp location/) });
    expect(fs.readdirSync(jobFiles())).toEqual([]);
    expectNoSecretsSent();
  });

  it('a backup to command.run.repository over SFTP: key files 0600 in a 0700 directory during the job, only their paths in argv, gone after', async () => {
    const seen = path.join(tmp.path, 'seen-by-hook.txt');
    let cmdlines = '';
    const sampler = setInterval(() => (cmdlines += allCmdlines()), 40);
    const fin = await run('b-sftp', 'backup', { paths: [src], pre_hook: `stat -c '%a %n' "${jobFiles()}"/*/ "${jobFiles()}"/*/* > "${seen}"` }, sftpRepo());
    clearInterval(sampler);
    expect(fin).toMatchObject({ status: 'succeeded' });
    const modes = fs.readFileSync(seen, 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([mode, p]) => [mode, path.basename(p!)]);
    expect(modes).toEqual([['700', expect.stringMatching(/^job-b-sftp-/)], ['600', 'known_hosts'], ['600', 'ssh-key'], ['600', 'ssh.log']]);
    // Removed once the job's reports (snapshot list, stats, locks) have been read with them.
    await until(() => fs.readdirSync(jobFiles()).length === 0, 30_000, 'the job directory to be removed');
    expect(cmdlines).toMatch(/sftp\.command=ssh -F none -E \S+\/ssh\.log -i \S+\/ssh-key .*StrictHostKeyChecking=yes/);
    expect(await server.waitFor(of('b-sftp', 'snapshots.report'))).toMatchObject({ snapshots: [expect.objectContaining({ paths: [src] })] });
    expect(await repoTest(sftpRepo())).toMatchObject({ ok: true, snapshot_count: 1 });
    for (const s of secrets()) expect(cmdlines.includes(s), `a secret (${s.slice(0, 5)}…) was in a command line`).toBe(false);
    expectNoSecretsSent();
  });

  it('a changed host key fails the backup job (nothing backed up) and removes the key files', async () => {
    const fin = await run('b-mismatch', 'backup', { paths: [src] }, sftpRepo({}, { known_hosts: sftp.wrongKnownHosts }));
    expect(fin).toMatchObject({ status: 'failed', error: expect.stringContaining('(ssh.log: Host key verification failed.)') });
    expect(await repoTest(sftpRepo())).toMatchObject({ ok: true, snapshot_count: 1 });
    await until(() => fs.readdirSync(jobFiles()).length === 0, 30_000, 'the job directory to be removed');
  });

  it('a repository that does not fit (schema or backend) fails the job naming the field; a cancelled job leaves no key files', async () => {
    const noKnownHosts = await run('bad-schema', 'backup', { paths: [src] }, { ...sftpRepo(), credentials: { backend: 'sftp', private_key: sftp.privateKey } as never });
    expect(noKnownHosts).toMatchObject({ status: 'failed', error: expect.stringMatching(/^invalid repository: repository\.credentials\.known_hosts: /) });
    const wrongBackend = await run('bad-backend', 'backup', { paths: [src] }, { ...sftpRepo(), credentials: { backend: 'local' } });
    expect(wrongBackend).toMatchObject({ status: 'failed', error: 'invalid repository: credentials.backend: the URL is a sftp location; these credentials are for local' });
    expect(fs.readdirSync(jobFiles())).toEqual([]);

    const big = path.join(tmp.path, 'big');
    await makeCorpus(big, { files: 4, totalBytes: 8 * 1024 * 1024, seed: 'big' });
    server.send({ type: 'command.run', job_id: 'b-cancel', kind: 'backup', args: { paths: [big], limit_upload_kbps: 256 }, repository: sftpRepo() });
    await server.waitFor(of('b-cancel', 'job.started'));
    await until(() => fs.readdirSync(jobFiles()).length === 1, 10_000, 'the job directory');
    await server.waitFor((f) => f.type === 'job.progress' && f.job_id === 'b-cancel', 60_000);
    server.send({ type: 'command.cancel', job_id: 'b-cancel' });
    expect(await server.waitFor(of('b-cancel', 'job.finished'), 60_000)).toMatchObject({ status: 'cancelled' });
    await until(() => fs.readdirSync(jobFiles()).length === 0, 60_000, 'the job directory to be removed');
  });

  it('jobs queue per repository: two repositories run side by side, a second job on the same one waits', async () => {
    expect(await repoTest(localRepo())).toMatchObject({ error_kind: 'not_initialised' });
    expect(await run('init-b0', 'init', {}, localRepo())).toMatchObject({ status: 'succeeded' });
    // A job holds its repository until its reports (snapshots, stats, locks) are sent too.
    await until(() => agent.runner.runningJobIds().length === 0, 30_000, 'no job running');
    server.send({ type: 'command.run', job_id: 'p-sftp', kind: 'snapshots', args: {}, repository: sftpRepo() });
    server.send({ type: 'command.run', job_id: 'p-local', kind: 'snapshots', args: {}, repository: localRepo() });
    server.send({ type: 'command.run', job_id: 'p-sftp-2', kind: 'snapshots', args: {}, repository: sftpRepo() });
    for (const j of ['p-sftp', 'p-local', 'p-sftp-2']) expect(await server.waitFor(of(j, 'job.finished'), 90_000)).toMatchObject({ status: 'succeeded' });
    expect(server.frames.filter((f) => f.type === 'job.queued').map((f) => f.job_id)).toEqual(['p-sftp-2']);
  });

  it('the job runs on its repository\'s engine (rustic is passed through by name)', async () => {
    const asked: (string | undefined)[] = [];
    const real = createEngine('restic');
    await restart({ engine: async (name) => (asked.push(name), real) });
    await run('e-rustic', 'snapshots', {}, { ...localRepo(), engine: 'rustic' });
    await run('e-restic', 'snapshots', {}, localRepo());
    expect(asked).toEqual(['rustic', 'restic']);
  });

  it("a schedule's repository_id picks from config.update.repositories, sealed on disk: it still works after a restart, and leftovers are swept", async () => {
    const spec: ScheduleSpec = {
      id: 's-b', kind: 'backup', cron_expr: '0 3 * * *', enabled: true, paths: [src], excludes: [], tags: ['to-b'], retention_policy: null, options: {},
      pre_hook: null, post_hook: null, run_as: null, repository_id: 'repo-local-b',
    };
    const first = jobForSchedule(spec);
    expect(first.repositoryId).toBe('repo-local-b');
    agent.runner.submit(first);
    expect(await server.waitFor(of(first.jobId, 'job.finished'), 90_000)).toMatchObject({ status: 'succeeded' });
    expect(await repoTest(localRepo())).toMatchObject({ ok: true, snapshot_count: 1 });

    // A kill -9 leaves a job's credential files behind; the next start removes them.
    const left = path.join(jobFiles(), 'job-killed-abc123');
    fs.mkdirSync(left, { mode: 0o700 });
    fs.writeFileSync(path.join(left, 'ssh-key'), 'left behind', { mode: 0o600 });
    await restart({ engine: async (name) => createEngine(name ?? 'restic') });
    expect(fs.existsSync(left)).toBe(false);
    expect(fx.logs.some((l) => l.includes('removed credential files left by jobs'))).toBe(true);
    const second = jobForSchedule(spec);
    agent.runner.submit(second);
    expect(await server.waitFor(of(second.jobId, 'job.finished'), 90_000)).toMatchObject({ status: 'succeeded' });
    expect(await repoTest(localRepo())).toMatchObject({ ok: true, snapshot_count: 2 });

    const lost = jobForSchedule({ ...spec, repository_id: 'repo-gone' });
    agent.runner.submit(lost);
    expect(await server.waitFor(of(lost.jobId, 'job.finished'))).toMatchObject({ status: 'failed', error_kind: 'no_credentials', error: expect.stringMatching(/repo-gone is not among the repositories/) });
    expect(fs.existsSync(path.join(tmp.path, 'primary'))).toBe(false);
    expectNoSecretsSent();
  });
});
