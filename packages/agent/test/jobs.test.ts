import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSecrets, readAgentConfig, statePaths } from '@restic-manager/agent';
import type { Connection } from '@restic-manager/engines';
import { FakeServer } from './helpers/fake-server.js';
import type { Frame } from './helpers/fake-server.js';
import { fixture, until } from './helpers/fixture.js';
import type { Fixture } from './helpers/fixture.js';
import { scriptEngine } from './helpers/script-engine.js';

const PASSWORD = 'hunter2-very-secret-repo-password';
const CRED = { type: 'config.update', repository: '/srv/repo-h1', password: PASSWORD };

let server: FakeServer;
let fx: Fixture;
beforeEach(async () => {
  server = await FakeServer.start();
  fx = fixture(server.url());
});
afterEach(async () => {
  await fx.cleanup();
  await server.close();
});

const of = (job: string, type?: string) => (f: Frame): boolean => f.job_id === job && (type === undefined || f.type === type);
const jobFrames = (job: string): Frame[] => server.frames.filter(of(job));

async function connected(script: string, calls?: { method: string; conn: Connection }[], creds = true): Promise<void> {
  await fx.start(scriptEngine({ script, ...(calls ? { calls } : {}) }));
  await server.waitFor((f) => f.type === 'hello');
  if (creds) {
    server.send(CRED);
    await until(() => fs.existsSync(statePaths(fx.dir).secrets), 5000, 'secrets.enc');
  }
}

describe('job runner', () => {
  it('refuses jobs until config.update delivered credentials (no_credentials)', async () => {
    await connected('echo hi', [], false);
    server.send({ type: 'command.run', job_id: 'j0', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    const fin = await server.waitFor(of('j0', 'job.finished'));
    expect(fin).toMatchObject({ status: 'failed', error_kind: 'no_credentials' });
    expect(String(fin.error)).toMatch(/config\.update/);
  });

  it('runs a backup: started, every line numbered, coalesced progress, finished, snapshots and stats; password redacted', async () => {
    const script = 'echo "line one"; echo "pw=$RM_TEST_PASSWORD"; for i in 10 20 30 40 50 60; do echo "progress $i"; done; echo "err line" >&2';
    await connected(script);
    const sec = readSecrets(statePaths(fx.dir).secrets, readAgentConfig(statePaths(fx.dir).config).secrets_key);
    expect(sec).toEqual({ repository: '/srv/repo-h1', password: PASSWORD });
    server.send({ type: 'command.run', job_id: 'j1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await server.waitFor(of('j1', 'repo.stats'));
    const frames = jobFrames('j1');
    const types = frames.map((f) => f.type);
    expect(types[0]).toBe('job.started');
    expect(types.indexOf('job.finished')).toBeLessThan(types.indexOf('snapshots.report'));
    const seqs = frames.filter((f) => f.seq !== undefined).map((f) => f.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    const logs = frames.filter((f) => f.type === 'log.stream').map((f) => `${String(f.stream)}:${String(f.payload)}`);
    expect(logs).toContain('stdout:line one');
    expect(logs).toContain('stdout:pw=***');
    expect(logs).toContain('stderr:err line');
    // Six progress lines within a few ms -> coalesced to at most 2 frames (first + trailing flush).
    expect(frames.filter((f) => f.type === 'job.progress').length).toBeLessThanOrEqual(2);
    expect(frames.find((f) => f.type === 'job.finished')).toMatchObject({ status: 'succeeded', exit_code: 0, error: null });
    expect(frames.find((f) => f.type === 'repo.stats')).toMatchObject({ size_bytes: 1234, snapshot_count: 1, lock_state: 'unlocked' });
    expect(JSON.stringify(server.frames)).not.toContain(PASSWORD);
    expect(fx.logs.join('')).not.toContain(PASSWORD);
  });

  it('cancel: SIGINT first, SIGKILL when ignored -> cancelled', async () => {
    await connected("trap 'echo got-int' INT; echo started; while true; do sleep 0.1; done");
    server.send({ type: 'command.run', job_id: 'jc', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await server.waitFor((f) => f.job_id === 'jc' && f.payload === 'started');
    server.send({ type: 'command.cancel', job_id: 'jc' });
    const fin = await server.waitFor(of('jc', 'job.finished'), 10_000);
    expect(fin).toMatchObject({ status: 'cancelled', error_kind: 'cancelled' });
    expect(jobFrames('jc').some((f) => f.payload === 'got-int')).toBe(true);
  });

  it('one job at a time per repository; the second is reported queued and runs after', async () => {
    await connected('sleep 0.4; echo done');
    server.send({ type: 'command.run', job_id: 'q1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    server.send({ type: 'command.run', job_id: 'q2', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    const queued = await server.waitFor(of('q2', 'job.queued'));
    expect(String(queued.reason)).toContain('q1');
    const f1 = await server.waitFor(of('q1', 'job.finished'));
    const s2 = await server.waitFor(of('q2', 'job.started'));
    expect(server.frames.indexOf(f1)).toBeLessThan(server.frames.indexOf(s2));
    await server.waitFor(of('q2', 'job.finished'));
  });

  it('a cancelled queued job never starts', async () => {
    await connected('sleep 0.4');
    server.send({ type: 'command.run', job_id: 'a', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    server.send({ type: 'command.run', job_id: 'b', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await server.waitFor(of('b', 'job.queued'));
    server.send({ type: 'command.cancel', job_id: 'b' });
    expect(await server.waitFor(of('b', 'job.finished'))).toMatchObject({ status: 'cancelled' });
    await server.waitFor(of('a', 'job.finished'));
    await new Promise((r) => setTimeout(r, 200));
    expect(jobFrames('b').map((f) => f.type)).toEqual(['job.queued', 'job.finished']);
  });

  it('a per-job credential is used for that job only and never persisted', async () => {
    const calls: { method: string; conn: Connection }[] = [];
    await connected('true', calls);
    const before = fs.readFileSync(statePaths(fx.dir).secrets);
    server.send({ type: 'command.run', job_id: 'o1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] }, credential: { repository: '/srv/other', password: 'maintenance-pass-xyz' } });
    await server.waitFor(of('o1', 'job.finished'));
    server.send({ type: 'command.run', job_id: 'o2', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'] } });
    await server.waitFor(of('o2', 'job.finished'));
    expect(calls.map((c) => [c.conn.repository, c.conn.password])).toEqual([['/srv/other', 'maintenance-pass-xyz'], ['/srv/repo-h1', PASSWORD]]);
    expect(fs.readFileSync(statePaths(fx.dir).secrets).equals(before)).toBe(true);
    for (const f of fs.readdirSync(fx.dir)) {
      if (fs.statSync(`${fx.dir}/${f}`).isFile()) expect(fs.readFileSync(`${fx.dir}/${f}`, 'utf8')).not.toContain('maintenance-pass-xyz');
    }
  });

  it('bandwidth limits reach the engine connection', async () => {
    const calls: { method: string; conn: Connection }[] = [];
    await connected('true', calls);
    server.send({ type: 'command.run', job_id: 'bw', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'], limit_upload_kbps: 512, limit_download_kbps: 2048 } });
    await server.waitFor(of('bw', 'job.finished'));
    expect(calls[0]!.conn).toMatchObject({ limitUploadKiBs: 512, limitDownloadKiBs: 2048 });
  });

  it('rejects malformed arguments with the field name', async () => {
    await connected('true');
    server.send({ type: 'command.run', job_id: 'bad', kind: 'backup', args: { paths: [], typo: 1 } });
    const fin = await server.waitFor(of('bad', 'job.finished'));
    expect(fin.status).toBe('failed');
    expect(String(fin.error)).toMatch(/invalid backup arguments/);
  });
});

describe('hooks', () => {
  it('a failing pre_hook fails the job and skips the backup; post_hook still runs with RM_JOB_STATUS', async () => {
    const calls: { method: string; conn: Connection }[] = [];
    await connected('echo backup-ran', calls);
    server.send({ type: 'command.run', job_id: 'h1', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'], pre_hook: 'echo preparing; echo oops >&2; exit 7', post_hook: 'echo "status=$RM_JOB_STATUS"' } });
    const fin = await server.waitFor(of('h1', 'job.finished'));
    expect(fin).toMatchObject({ status: 'failed', error_kind: 'hook_failed', exit_code: 7 });
    expect(calls).toEqual([]);
    const payloads = jobFrames('h1').filter((f) => f.type === 'log.stream').map((f) => f.payload);
    expect(payloads).toEqual(expect.arrayContaining(['pre_hook: preparing', 'pre_hook: oops', 'post_hook: status=failed']));
  });

  it('post_hook sees RM_JOB_STATUS=succeeded and its failure does not change the job status', async () => {
    await connected('echo backup-ran');
    server.send({ type: 'command.run', job_id: 'h2', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'], pre_hook: 'echo ready', post_hook: 'echo "status=$RM_JOB_STATUS"; exit 3' } });
    const fin = await server.waitFor(of('h2', 'job.finished'));
    expect(fin).toMatchObject({ status: 'succeeded' });
    expect((fin.stats as Record<string, unknown>).post_hook_exit_code).toBe(3);
    const payloads = jobFrames('h2').filter((f) => f.type === 'log.stream').map((f) => f.payload);
    const order = ['pre_hook: ready', 'backup-ran', 'post_hook: status=succeeded'].map((p) => payloads.indexOf(p));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  const isRoot = process.getuid?.() === 0;
  it.skipIf(!isRoot)('run_as drops to the given user for the hook (needs root)', async () => {
    await connected('true');
    server.send({ type: 'command.run', job_id: 'h3', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'], run_as: 'nobody', pre_hook: 'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G) user=$USER"' } });
    await server.waitFor(of('h3', 'job.finished'));
    const line = jobFrames('h3').find((f) => String(f.payload).startsWith('pre_hook: uid='));
    const nobody = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))!.split(':');
    expect(line?.payload).toBe(`pre_hook: uid=${nobody[2]} gid=${nobody[3]} groups=${nobody[3]} user=nobody`);
  });

  it('run_as with an unknown user fails the job with a clear error', async () => {
    await connected('true');
    server.send({ type: 'command.run', job_id: 'h4', kind: 'backup', args: { paths: ['/nonexistent/rm-test-source'], run_as: 'no-such-user-rm', pre_hook: 'true' } });
    const fin = await server.waitFor(of('h4', 'job.finished'));
    expect(fin).toMatchObject({ status: 'failed', error_kind: 'hook_failed' });
    expect(String(fin.error)).toMatch(/run_as user 'no-such-user-rm' does not exist/);
  });
});
