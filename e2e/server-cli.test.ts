import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeAgent } from '@restic-manager/server/testing';
import { startServerProcess } from './server-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'packages/cli/dist/main.js');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rm-cli-server-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
if (!existsSync(cli)) console.warn(`skipping server CLI tests: ${cli} is missing (run 'npx tsc -b' first)`);

function start(env: Record<string, string>) {
  return startServerProcess({ RM_DATA_DIR: dataDir, ...env });
}

describe.skipIf(!existsSync(cli))('restic-manager server (compiled CLI)', () => {
  it('exits 2 with one line naming the variable on invalid configuration', () => {
    const r = spawnSync(process.execPath, [cli, 'server'], { env: { PATH: process.env.PATH, RM_DATA_DIR: dataDir, RM_LISTEN: 'nope' }, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/RM_LISTEN: expected \[host\]:port/);
    const help = spawnSync(process.execPath, [cli, 'server', '--help'], { encoding: 'utf8' });
    expect(help.stdout).toContain('Exit status:');
  });

  it('first run: creates the key file 0600, prints a generated admin password once; SIGTERM shuts down gracefully', async () => {
    const s = await start({});
    const url = await s.url;
    expect(statSync(path.join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600);
    const pw = /with password: (\S+)/.exec(s.err())?.[1];
    expect(pw).toBeTruthy();
    expect(s.out()).not.toContain(pw!);
    const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: pw }) });
    expect(login.status).toBe(200);
    const cookie = /rm_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
    const { csrf_token } = (await login.json()) as { csrf_token: string };
    const add = await fetch(`${url}/api/hosts`, {
      method: 'POST', headers: { 'content-type': 'application/json', cookie: `rm_session=${cookie}`, 'x-csrf-token': csrf_token },
      body: JSON.stringify({ name: 'cli-host', repository: { url: '/srv/restic/cli-host' } }),
    });
    const { token } = (await add.json()) as { token: string };
    const enr = await FakeAgent.enroll(url, token, 'cli-host');
    const agent = new FakeAgent({ url, bearer: enr.bearer_token });
    await agent.connect();
    s.child.kill('SIGTERM');
    expect((await agent.closed).code).toBe(1001);
    expect(await s.exited).toBe(0);
    expect(s.err()).toContain('SIGTERM received, shutting down');

    const again = await start({});
    await again.url;
    expect(again.err()).not.toContain('with password');
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('a second server on the same data directory exits 1 naming the directory and PID, changing nothing; after kill -9 of the first, the next one starts', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rm-cli-lock-'));
    const env = { RM_DATA_DIR: dir, RM_ADMIN_PASSWORD: 'cli-lock-admin-password-1' };
    const first = await start(env);
    try {
      const url = await first.url;
      const login = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: env.RM_ADMIN_PASSWORD }) });
      const cookie = `rm_session=${/rm_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1]}`;
      const { csrf_token } = (await login.json()) as { csrf_token: string };
      const add = await fetch(`${url}/api/hosts`, {
        method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf_token },
        body: JSON.stringify({ name: 'lock-host', repository: { url: '/srv/restic/lock-host' } }),
      });
      const { token } = (await add.json()) as { token: string };
      const enr = await FakeAgent.enroll(url, token, 'lock-host');
      const agent = new FakeAgent({ url, bearer: enr.bearer_token });
      await agent.connect();
      const status = async () => ((await (await fetch(`${url}/api/hosts/${enr.host_id}`, { headers: { cookie } })).json()) as { status: string }).status;
      for (let i = 0; i < 200 && (await status()) !== 'online'; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await status()).toBe('online');

      const second = spawnSync(process.execPath, [cli, 'server'], { env: { PATH: process.env.PATH, RM_LISTEN: '127.0.0.1:0', RM_COOKIE_SECURE: 'false', ...env }, encoding: 'utf8', timeout: 30_000 });
      expect(second.status, second.stderr).toBe(1);
      expect(second.stderr).toContain(`data directory ${dir} is in use by another restic-manager server (PID ${first.child.pid})`);
      expect(second.stderr).not.toContain('listening');
      expect(await status()).toBe('online');

      first.child.kill('SIGKILL');
      await first.exited;
      const third = await start(env);
      await third.url;
      third.child.kill('SIGTERM');
      expect(await third.exited).toBe(0);
    } finally {
      first.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
