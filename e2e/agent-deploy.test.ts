import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from './test-server.js';
import type { RunningServer } from '@restic-manager/server';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { X25519Identity } from '@restic-manager/vault';
import { ADMIN_PASSWORD, Api, eventually, runJobVia, waitJobVia } from './agent-harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const UNIT = path.join(root, 'deploy/systemd/restic-manager-agent.service');
const INSTALL = path.join(root, 'deploy/install/install.sh');
const shellcheck = requireTool('shellcheck');
const analyze = requireTool('systemd-analyze');
if (!shellcheck.ok) console.warn(`skipping shellcheck: ${shellcheck.reason}`);
if (!analyze.ok) console.warn(`skipping systemd-analyze verify: ${analyze.reason}`);

describe('agent deployment files', () => {
  it.skipIf(!shellcheck.ok)('install.sh passes shellcheck', () => {
    const r = spawnSync('shellcheck', ['-x', INSTALL], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('install.sh is strict bash and carries the base-URL placeholder the server substitutes', () => {
    const text = fs.readFileSync(INSTALL, 'utf8');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toContain('set -euo pipefail');
    expect(text).toContain('__RM_BASE_URL__');
  });

  it('the unit has the §4.2 sandbox', () => {
    const text = fs.readFileSync(UNIT, 'utf8');
    const has = (line: string): void => expect(text.split('\n'), line).toContain(line);
    has('User=root');
    has('CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_DAC_OVERRIDE CAP_FOWNER CAP_CHOWN CAP_SETUID CAP_SETGID');
    for (const l of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/etc/restic-manager /var/lib/restic-manager', 'ProtectHome=read-only',
      'PrivateTmp=yes', 'ProtectKernelTunables=yes', 'ProtectKernelModules=yes', 'ProtectControlGroups=yes', 'RestrictNamespaces=yes',
      'RestrictSUIDSGID=yes', 'LockPersonality=yes']) has(l);
  });

  it.skipIf(!analyze.ok)('the unit passes systemd-analyze verify (ExecStart pointed at an existing binary)', async () => {
    const t = await tempDir('rm-unit-');
    try {
      const copy = path.join(t.path, 'restic-manager-agent.service');
      fs.writeFileSync(copy, fs.readFileSync(UNIT, 'utf8').replace(/^ExecStart=\S+/m, 'ExecStart=/bin/true'));
      const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
      expect(r.stderr.split('\n').filter((l) => l.includes('restic-manager-agent.service'))).toEqual([]);
      expect(r.status).toBe(0);
    } finally {
      await t.cleanup();
    }
  });
});

describe('the server serves the installer', () => {
  it('GET /install/install.sh returns this script with the server base URL filled in', async () => {
    const t = await tempDir('rm-serve-install-');
    const log = new PassThrough();
    log.resume();
    const server = await startTestServer({ listen: '127.0.0.1:0', dataDir: t.path, cookieSecure: false, adminPassword: 'serve-install-admin-1' }, { logStream: log, mountWeb: null });
    try {
      const r = await fetch(`${server.url}/install/install.sh`);
      expect(r.status).toBe(200);
      const body = await r.text();
      expect(body).not.toContain('__RM_BASE_URL__');
      expect(body).toContain(`RM_BASE_URL="\${RM_BASE_URL:-${server.url}}"`);
      expect(body.replaceAll(server.url, '__RM_BASE_URL__')).toBe(fs.readFileSync(INSTALL, 'utf8'));
    } finally {
      await server.close();
      await t.cleanup();
    }
  });
});

/*
 * install.sh end to end: the real server serves install.sh and the packed agent.tgz, install.sh
 * installs it into a temp prefix with npm (every third-party package from the npm registry, into
 * a fresh npm cache), enrolls with a real token, and the installed agent then runs jobs for the
 * server. Twice: once as on a host where the vault's native modules install, once where their
 * build fails (decision 0010).
 *
 * Native modules: prebuild-install first downloads a prebuilt binary from GitHub releases and
 * only compiles (node-gyp) when that fails. This machine cannot reach GitHub, and compiling
 * better-sqlite3 and zstd-napi takes ~3.5 min on 2 shared cores, so by default `mirror` stands
 * in for GitHub through prebuild-install's documented per-package mirror setting
 * (npm_config_<pkg>_binary_host): it serves the binaries the repository's own `npm ci` built
 * (same package version, same Node.js ABI) under prebuild-install's release file names. With
 * RM_E2E_AGENT_NATIVE_BUILD=1 there is no mirror: binaries come from GitHub or are compiled.
 */
const NATIVE_BUILD = process.env.RM_E2E_AGENT_NATIVE_BUILD === '1';
const INSTALL_BUDGET_MS = NATIVE_BUILD ? 900_000 : 180_000;
const NATIVES = [
  { pkg: 'better-sqlite3', file: 'build/Release/better_sqlite3.node' },
  { pkg: 'zstd-napi', file: 'build/Release/binding.node' },
];
const hostEnv = (pkg: string): string => `npm_config_${pkg.replace(/[^a-zA-Z0-9]/g, '_')}_binary_host`;

interface Installed {
  out: string;
  ms: number;
  hostId: string;
  bin: string;
  state: string;
  repo: string;
}

describe.skipIf(process.getuid?.() !== 0 || !requireTool('restic').ok)('install.sh end to end (into a temp prefix, service start skipped)', () => {
  let t: TempDir;
  let server: RunningServer;
  let api: Api;
  let mirror: http.Server;
  let mirrorUrl = '';
  const served: string[] = [];
  const agents: ChildProcess[] = [];
  let tgzBytes = 0;

  beforeAll(async () => {
    t = await tempDir('rm-install-');
    execFileSync(process.execPath, [path.join(root, 'packages/agent/scripts/pack.mjs'), t.path]);
    tgzBytes = fs.statSync(path.join(t.path, 'agent.tgz')).size;
    const prebuilt = new Map<string, string>();
    for (const n of NATIVES) {
      const dir = path.join(root, 'node_modules', n.pkg);
      const version = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
      const tgz = path.join(t.path, `${n.pkg}-prebuilt.tar.gz`);
      execFileSync('tar', ['czf', tgz, '-C', dir, n.file]);
      prebuilt.set(`/prebuilt/${n.pkg}/v${version}/`, tgz);
    }
    mirror = http.createServer((req, res) => {
      const url = req.url ?? '';
      const hit = [...prebuilt].find(([prefix]) => url.startsWith(prefix) && url.endsWith(`-${process.platform}-${process.arch}.tar.gz`));
      served.push(`${hit ? 200 : 404} ${url}`);
      if (!hit) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/gzip' });
      fs.createReadStream(hit[1]).pipe(res);
    });
    await new Promise<void>((r) => mirror.listen(0, '127.0.0.1', r));
    mirrorUrl = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
    const log = new PassThrough();
    log.resume();
    server = await startTestServer({ listen: '127.0.0.1:0', dataDir: path.join(t.path, 'server'), cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'warn', agentTarball: path.join(t.path, 'agent.tgz') }, { logStream: log, mountWeb: null });
    api = new Api(server.url);
    await api.login();
  });
  afterAll(async () => {
    for (const a of agents) if (a.exitCode === null && a.signalCode === null) a.kill('SIGKILL');
    mirror?.close();
    await server?.close();
    await t?.cleanup();
  });

  /** Adds a host, then runs the server's install.sh for it as `curl … | sudo RM_TOKEN=… bash` does. */
  async function install(name: string, env: Record<string, string>): Promise<Installed> {
    const repo = path.join(t.path, name, 'repo');
    const add = await api.req('POST', '/api/hosts', { name, repository: { url: repo, password: `${name}-repo-password-0a1b2c`, append_only: false } });
    expect(add.status, JSON.stringify(add.body)).toBe(201);
    const script = await (await fetch(`${server.url}/install/install.sh`)).text();
    const dir = path.join(t.path, name);
    const bin = path.join(dir, 'bin/restic-manager-agent');
    const state = path.join(dir, 'state');
    const started = Date.now();
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn('bash', ['-s'], {
        env: {
          ...process.env, RM_TOKEN: add.body.token as string, RM_NO_START: '1',
          RM_PREFIX: path.join(dir, 'lib'), RM_BIN: bin, RM_STATE_DIR: state, RM_CONFIG_DIR: path.join(dir, 'etc'), RM_UNIT: path.join(dir, 'unit.service'),
          npm_config_cache: path.join(t.path, 'npm-cache'), ...env,
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', (code) => resolve({ code, out }));
      c.stdin.end(script);
    });
    const ms = Date.now() - started;
    expect(r.out).toContain('installed restic-manager-agent 0.1.0');
    expect(r.code, r.out).toBe(0);
    expect(fs.readFileSync(path.join(state, 'agent.yaml'), 'utf8')).toContain(add.body.host_id as string);
    expect(fs.statSync(state).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(path.join(dir, 'unit.service'), 'utf8')).toBe(fs.readFileSync(UNIT, 'utf8'));
    return { out: r.out, ms, hostId: add.body.host_id as string, bin, state, repo };
  }

  /** Starts the installed agent's service loop and waits until the server sees it online. */
  async function startAgent(a: Installed): Promise<() => string> {
    const c = spawn(a.bin, ['run', '--state-dir', a.state], { env: { ...process.env, RM_AGENT_HEARTBEAT_MS: '1000' }, stdio: ['ignore', 'pipe', 'pipe'] });
    agents.push(c);
    let logs = '';
    const add = (d: Buffer): void => void (logs = (logs + d.toString()).slice(-20_000));
    c.stdout.on('data', add);
    c.stderr.on('data', add);
    await eventually(async () => (await api.req('GET', `/api/hosts/${a.hostId}`)).body.status === 'online', 20_000, 'host online');
    const init = await waitJobVia(api, await runJobVia(api, a.hostId, 'init'), 60_000);
    expect(init.status, `${JSON.stringify(init)}\n${logs}`).toBe('succeeded');
    return () => logs;
  }

  const version = (a: Installed): Record<string, unknown> =>
    JSON.parse(spawnSync(a.bin, ['version', '--json'], { encoding: 'utf8' }).stdout) as Record<string, unknown>;

  it('installs the packed agent with the vault engine, which then runs a vault backup from the server', async () => {
    const mirrors = NATIVE_BUILD ? {} : Object.fromEntries(NATIVES.map((n) => [hostEnv(n.pkg), `${mirrorUrl}/prebuilt/${n.pkg}`]));
    const a = await install('with-vault', mirrors);
    console.info(`agent.tgz ${tgzBytes} bytes; install.sh with the vault engine: ${(a.ms / 1000).toFixed(1)} s (native binaries: ${NATIVE_BUILD ? 'GitHub or compiled' : served.join(', ')})`);
    expect(a.out).toMatch(/vault engine available/);
    expect(version(a)).toMatchObject({ agent_version: '0.1.0', vault_engine: 'available', vault_engine_error: null });
    const logs = await startAgent(a);
    const src = path.join(t.path, 'with-vault', 'src');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'a.txt'), 'installed by install.sh\n'.repeat(1000));
    const put = await api.req('PUT', `/api/hosts/${a.hostId}/vault`, { storage: { type: 'local', path: path.join(t.path, 'with-vault', 'vault') }, age_recipient: X25519Identity.generate().recipient.toString() });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const job = await waitJobVia(api, await runJobVia(api, a.hostId, 'vault_backup', { paths: [src] }), 120_000);
    expect(job.status, `${JSON.stringify(job)}\n${logs()}`).toBe('succeeded');
    await eventually(async () => (await api.req('GET', `/api/hosts/${a.hostId}/vault`)).body.snapshots.length === 1, 10_000, 'the vault snapshot on the host');
  }, INSTALL_BUDGET_MS);

  it('where the native modules cannot be built, still installs and runs restic jobs, and the server refuses vault jobs', async () => {
    // No prebuilt binary (the mirror answers 404) and a build that fails: `make` is /bin/false.
    const a = await install('without-vault', { MAKE: '/bin/false', ...Object.fromEntries(NATIVES.map((n) => [hostEnv(n.pkg), `${mirrorUrl}/missing/${n.pkg}`])) });
    console.info(`install.sh where the native builds fail: ${(a.ms / 1000).toFixed(1)} s`);
    expect(a.out).toMatch(/vault engine not installed: missing better-sqlite3, zstd-napi/);
    expect(a.out).toMatch(/vault jobs are off on this host \(restic jobs work\)/);
    expect(version(a)).toMatchObject({ vault_engine: 'not_installed', vault_engine_error: expect.stringMatching(/missing better-sqlite3, zstd-napi/) });
    await startAgent(a); // runs restic `init` through the installed agent
    const put = await api.req('PUT', `/api/hosts/${a.hostId}/vault`, { storage: { type: 'local', path: path.join(t.path, 'without-vault', 'vault') }, age_recipient: X25519Identity.generate().recipient.toString() });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const r = await api.req('POST', `/api/hosts/${a.hostId}/jobs`, { kind: 'vault_backup', args: { paths: [t.path] } });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toMatch(/cannot run vault jobs \(it predates them or was installed without the vault engine\)/);
  }, INSTALL_BUDGET_MS);
});
