import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDocker, freePort, requireTool, rootfsTarball, startDockerEngine, tempDir } from '@restic-manager/testkit';
import type { DockerEngine, TempDir } from '@restic-manager/testkit';
import { ADMIN_PASSWORD, Api, eventually, ROOT, runCollect, runJobVia, waitJobVia } from './agent-harness.js';
import type { Json } from './agent-harness.js';

/*
 * Installed like a product (docs/operations.md, "Install"): scripts/pack.mjs builds the server
 * and agent tarballs; `npm install -g --offline` puts them into a fresh prefix with an EMPTY npm
 * cache (so nothing can come from the registry or the cache); then, from a directory with no
 * checkout around it, the installed `restic-manager server` starts and serves its UI, install.sh
 * and agent.tgz, and the installed `restic-manager-agent` enrolls and runs a backup. Then the
 * image (deploy/docker/Dockerfile) is built from the installed package on a base imported from a
 * local root-filesystem tarball, and run on a private dockerd: non-root, read-only root, /data
 * volume, host network; an agent on this machine enrolls against it and backs up.
 */
const dockerd = findDocker();
if (!dockerd.ok) console.warn(`skipping the container image test: ${dockerd.reason}`);

const missing = ['restic', 'npm'].filter((t) => !requireTool(t).ok);
if (missing.length) console.warn(`skipping package install e2e: missing ${missing.join(', ')}`);

function run2(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return run(cmd, args, { cwd: os.tmpdir(), env });
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<{ code: number | null; out: string; err: string }> {
  return runCollect(cmd, args, opts);
}

describe.skipIf(missing.length > 0)('npm packages: offline install into a clean prefix, server + agent from it', () => {
  let t: TempDir;
  let prefix = '';
  let work = '';
  let server: ChildProcess | null = null;
  let agent: ChildProcess | null = null;
  let url = '';
  // A clean environment: no workspace, no node_modules of the checkout on any path.
  const env = (): Record<string, string> => ({ PATH: `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`, NODE_PATH: '', npm_config_cache: path.join(t.path, 'empty-npm-cache'), HOME: work });

  beforeAll(async () => {
    t = await tempDir('rm-packages-');
    expect(path.relative(ROOT, t.path).startsWith('..')).toBe(true);
    const out = path.join(t.path, 'packages');
    const packed = await run(process.execPath, [path.join(ROOT, 'scripts/pack.mjs'), out], { cwd: ROOT });
    expect(packed.code, packed.err).toBe(0);
    const tarballs = fs.readdirSync(out).filter((f) => f.endsWith('.tgz')).sort();
    expect(tarballs).toEqual(['restic-manager-0.1.0.tgz', 'restic-manager-agent-0.1.0.tgz']);
    prefix = path.join(t.path, 'prefix');
    work = path.join(t.path, 'work');
    fs.mkdirSync(work);
    const started = Date.now();
    const install = await run('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, ...tarballs.map((f) => path.join(out, f))], { cwd: work, env: env() });
    expect(install.code, install.err).toBe(0);
    console.info(`packages: ${tarballs.map((f) => `${f} ${(fs.statSync(path.join(out, f)).size / 1048576).toFixed(1)} MiB`).join(', ')}; offline install ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 900_000);

  afterAll(async () => {
    for (const p of [agent, server]) {
      if (p && p.exitCode === null && p.signalCode === null) {
        await new Promise<void>((r) => {
          p.once('exit', () => r());
          p.kill('SIGTERM');
        });
      }
    }
    await t?.cleanup();
  });

  it('the installed CLI runs from a directory with no checkout, and the native modules were not compiled', async () => {
    const v = await run(path.join(prefix, 'bin', 'restic-manager'), ['version', '--json'], { cwd: work, env: env() });
    expect(v.code, v.err).toBe(0);
    expect(JSON.parse(v.out)).toMatchObject({ version: '0.1.0' });
    const pkg = path.join(prefix, 'lib', 'node_modules', 'restic-manager');
    expect(fs.existsSync(path.join(pkg, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'node_modules', 'better-sqlite3', 'build', 'Release', 'obj.target'))).toBe(false);
  });

  it('the installed server starts and serves its UI, install.sh and agent.tgz; the installed agent enrolls and backs up', async () => {
    const dataDir = path.join(t.path, 'data');
    server = spawn(path.join(prefix, 'bin', 'restic-manager'), ['server'], {
      cwd: work, env: { ...env(), RM_DATA_DIR: dataDir, RM_LISTEN: '127.0.0.1:0', RM_COOKIE_SECURE: 'false', RM_ADMIN_PASSWORD: ADMIN_PASSWORD, RM_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    url = await eventually(async () => /listening on (\S+)/.exec(stderr)?.[1] ?? null, 60_000, `the server's listening line (stderr: ${stderr.slice(-300)})`);
    expect((await (await fetch(`${url}/healthz`)).json()) as unknown).toMatchObject({ ok: true, version: '0.1.0' });
    const login = await fetch(`${url}/login`);
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('<form');
    expect((await fetch(`${url}/static/app.css`)).status).toBe(200);
    expect((await fetch(`${url}/static/htmx.min.js`)).status).toBe(200);
    const script = await fetch(`${url}/install/install.sh`);
    expect(script.status).toBe(200);
    expect(await script.text()).toContain(`RM_BASE_URL="\${RM_BASE_URL:-${url}}"`);
    const tgz = await fetch(`${url}/install/agent.tgz`);
    expect(tgz.status).toBe(200);
    expect((await tgz.arrayBuffer()).byteLength).toBeGreaterThan(100_000);

    const api = new Api(url);
    await api.login();
    const add = await api.req('POST', '/api/hosts', { name: 'packaged', repository: { url: path.join(t.path, 'repo'), password: 'packaged-repo-password-3c9e', append_only: false } });
    expect(add.status, JSON.stringify(add.body)).toBe(201);
    const hostId = add.body.host_id as string;
    const agentDir = path.join(t.path, 'agent');
    const enroll = await run(path.join(prefix, 'bin', 'restic-manager-agent'), ['enroll', '--server', url, '--state-dir', agentDir], { cwd: work, env: { ...env(), RM_TOKEN: add.body.token as string } });
    expect(enroll.code, enroll.err).toBe(0);
    agent = spawn(path.join(prefix, 'bin', 'restic-manager-agent'), ['run', '--state-dir', agentDir], { cwd: work, env: { ...env(), RM_AGENT_HEARTBEAT_MS: '1000' }, stdio: ['ignore', 'ignore', 'ignore'] });
    await eventually(async () => (await api.req('GET', `/api/hosts/${hostId}`)).body.status === 'online', 30_000, 'host online');
    const src = path.join(t.path, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.txt'), `installed from the package on ${os.hostname()}\n`.repeat(500));
    expect((await waitJobVia(api, await runJobVia(api, hostId, 'init'))).status).toBe('succeeded');
    expect((await waitJobVia(api, await runJobVia(api, hostId, 'backup', { paths: [src] }))).status).toBe('succeeded');
    const snaps = await eventually(async () => {
      const r = await api.req('GET', `/api/hosts/${hostId}/snapshots`);
      return r.body.total >= 1 ? r.body.items : null;
    }, 20_000, 'the snapshot in the API');
    expect(snaps[0].paths).toEqual([src]);
  });
  it.skipIf(!dockerd.ok)('the image builds from the installed package and runs read-only as non-root; an agent enrolls against the container and backs up', async (ctx) => {
    const started = await startDockerEngine();
    if (!started.ok) {
      console.warn(`skipping the container run: the private dockerd could not start here: ${started.reason.slice(0, 300)}`);
      return ctx.skip();
    }
    const d: DockerEngine = started.value;
    const data = path.join(t.path, 'container-data');
    let cid = '';
    try {
      const base = path.join(t.path, 'rootfs.tar');
      const pkgDir = path.join(prefix, 'lib', 'node_modules', 'restic-manager');
      const natives = (fs.readdirSync(pkgDir, { recursive: true }) as string[]).filter((f) => f.endsWith('.node')).map((f) => path.join(pkgDir, f));
      rootfsTarball(base, [process.execPath], [], { app: 10001 }, natives);
      const imp = await d.run(['import', base, 'rm-base:test']);
      expect(imp.code, imp.err).toBe(0);
      const ctxDir = path.join(t.path, 'image-context');
      fs.mkdirSync(path.join(ctxDir, 'empty'), { recursive: true });
      fs.cpSync(pkgDir, path.join(ctxDir, 'restic-manager'), { recursive: true, verbatimSymlinks: true });
      const build = await d.run(['build', '--build-arg', 'BASE=rm-base:test', '-f', path.join(ROOT, 'deploy/docker/Dockerfile'), '-t', 'restic-manager:test', ctxDir], { timeoutMs: 600_000 });
      expect(build.code, build.err.slice(-2000)).toBe(0);
      const inspect = JSON.parse((await d.run(['image', 'inspect', 'restic-manager:test'])).out) as Json[];
      expect(inspect[0].Config).toMatchObject({ User: '10001:10001', Volumes: { '/data': {} } });
      expect(inspect[0].Config.Healthcheck.Test.join(' ')).toContain('/healthz');

      fs.mkdirSync(data);
      fs.chownSync(data, 10001, 10001);
      const port = await freePort();
      // The admin password goes in an env file (0600, removed once the container has it), never in docker's argv.
      const envFile = path.join(fs.mkdtempSync(path.join(t.path, 'env-')), 'server.env');
      fs.writeFileSync(envFile, `RM_ADMIN_PASSWORD=${ADMIN_PASSWORD}\n`, { mode: 0o600 });
      const run = await d.run(['run', '-d', '--network', 'host', '--read-only', '-v', `${data}:/data`,
        '-e', `RM_LISTEN=127.0.0.1:${port}`, '-e', 'RM_COOKIE_SECURE=false', '--env-file', envFile, '-e', 'RM_LOG_LEVEL=warn', 'restic-manager:test']);
      fs.rmSync(envFile);
      expect(run.code, run.err).toBe(0);
      cid = run.out.trim();
      const curl = `http://127.0.0.1:${port}`;
      await eventually(async () => (await fetch(`${curl}/healthz`)).ok, 60_000, "the container's /healthz").catch(async (e: unknown) => {
        throw new Error(`${(e as Error).message}; container log: ${(await d.run(['logs', cid])).err.slice(-1500)}`);
      });
      expect((await d.run(['exec', cid, 'node', '-e', 'console.log(process.getuid())'])).out.trim()).toBe('10001');
      const api = new Api(curl);
      await api.login();
      const add = await api.req('POST', '/api/hosts', { name: 'from-container', repository: { url: path.join(t.path, 'container-repo'), password: 'container-repo-password-8b2d', append_only: false } });
      expect(add.status, JSON.stringify(add.body)).toBe(201);
      const hostId = add.body.host_id as string;
      const agentDir = path.join(t.path, 'container-agent');
      const enroll = await run2(path.join(prefix, 'bin', 'restic-manager-agent'), ['enroll', '--server', curl, '--state-dir', agentDir], { ...env(), RM_TOKEN: add.body.token as string });
      expect(enroll.code, enroll.err).toBe(0);
      const a = spawn(path.join(prefix, 'bin', 'restic-manager-agent'), ['run', '--state-dir', agentDir], { cwd: work, env: { ...process.env, ...env(), RM_AGENT_HEARTBEAT_MS: '1000' }, stdio: ['ignore', 'ignore', 'ignore'] });
      try {
        await eventually(async () => (await api.req('GET', `/api/hosts/${hostId}`)).body.status === 'online', 30_000, 'host online');
        const src = path.join(t.path, 'container-src');
        fs.mkdirSync(src);
        fs.writeFileSync(path.join(src, 'b.txt'), 'backed up for a server in a container\n'.repeat(200));
        expect((await waitJobVia(api, await runJobVia(api, hostId, 'init'))).status).toBe('succeeded');
        expect((await waitJobVia(api, await runJobVia(api, hostId, 'backup', { paths: [src] }))).status).toBe('succeeded');
      } finally {
        a.kill('SIGTERM');
      }
      const health = await eventually(async () => {
        const h = (await d.run(['inspect', '--format', '{{.State.Health.Status}}', cid])).out.trim();
        return h === 'healthy' ? h : null;
      }, 90_000, 'docker to report the container healthy');
      expect(health).toBe('healthy');
      expect(fs.readdirSync(data)).toEqual(expect.arrayContaining(['restic-manager.db', 'secret.key']));
    } finally {
      if (cid) await d.run(['rm', '-f', cid]);
      await d.stop();
    }
  }, 900_000);
});
