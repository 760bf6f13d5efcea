import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';

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
    const { startServer } = await import('@restic-manager/server');
    const { PassThrough } = await import('node:stream');
    const log = new PassThrough();
    log.resume();
    const server = await startServer({ listen: '127.0.0.1:0', dataDir: t.path, cookieSecure: false, adminPassword: 'serve-install-admin-1' }, { logStream: log, mountWeb: null });
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

describe.skipIf(process.getuid?.() !== 0)('install.sh end to end (into a temp prefix, service start skipped)', () => {
  let t: TempDir;
  let server: http.Server;
  let url = '';
  const enrollBodies: Record<string, unknown>[] = [];
  beforeAll(async () => {
    t = await tempDir('rm-install-');
    execFileSync(process.execPath, [path.join(root, 'packages/agent/scripts/pack.mjs'), t.path]);
    server = http.createServer((req, res) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => {
        if (req.url === '/install/agent.tgz') {
          res.writeHead(200, { 'content-type': 'application/gzip' });
          fs.createReadStream(path.join(t.path, 'agent.tgz')).pipe(res);
          return;
        }
        enrollBodies.push(JSON.parse(b) as Record<string, unknown>);
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ host_id: 'host-install', bearer_token: 'install-bearer' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.close();
    await t.cleanup();
  });

  it('installs the packed agent, enrolls with RM_TOKEN and drops the unit', async () => {
    const script = fs.readFileSync(INSTALL, 'utf8').replaceAll('__RM_BASE_URL__', url);
    const env = {
      ...process.env, RM_TOKEN: 'install-token', RM_NO_START: '1',
      RM_PREFIX: path.join(t.path, 'lib'), RM_BIN: path.join(t.path, 'bin/restic-manager-agent'),
      RM_STATE_DIR: path.join(t.path, 'state'), RM_CONFIG_DIR: path.join(t.path, 'etc'), RM_UNIT: path.join(t.path, 'unit.service'),
    };
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn('bash', ['-s'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', (code) => resolve({ code, out }));
      c.stdin.end(script);
    });
    expect(r.out).toContain('installed restic-manager-agent 0.1.0');
    expect(r.code, r.out).toBe(0);
    expect(enrollBodies).toEqual([expect.objectContaining({ token: 'install-token' })]);
    expect(fs.readFileSync(path.join(t.path, 'state/agent.yaml'), 'utf8')).toContain('host-install');
    expect(fs.statSync(path.join(t.path, 'state')).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(path.join(t.path, 'unit.service'), 'utf8')).toBe(fs.readFileSync(UNIT, 'utf8'));
    const v = spawnSync(path.join(t.path, 'bin/restic-manager-agent'), ['version', '--json'], { encoding: 'utf8' });
    expect(JSON.parse(v.stdout)).toMatchObject({ agent_version: '0.1.0' });
  }, 180_000);
});
