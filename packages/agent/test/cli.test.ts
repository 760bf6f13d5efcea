import { spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger, newSecretsKey, readAgentConfig, statePaths, writeAgentConfig, writeSecrets } from '@restic-manager/agent';
import { scheduleStore } from '../src/state/schedule-store.js';
import { tempDirs } from './helpers/temp-dirs.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const { tmp } = tempDirs('rm-agent-cli-');

function cli(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function cliAsync(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

beforeAll(() => {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run 'npx tsc -b' first`);
});

describe('restic-manager-agent CLI', () => {
  it.each(['enroll', 'run', 'version', 'health-check', 'dump-state', 'update'])('%s --help prints usage and an exit-status table', (cmd) => {
    const r = cli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Usage: restic-manager-agent ${cmd}`);
    expect(r.out).toContain('Exit status');
  });

  it('no command -> usage on stdout, exit 2; unknown command -> exit 2', () => {
    expect(cli([]).code).toBe(2);
    const r = cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown command 'frobnicate'");
  });

  it('version --json is machine-readable', () => {
    const r = cli(['version', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ agent_version: '0.1.0', protocol_version: 1 });
  });

  it('version says whether the vault engine works here (loads it and runs its self-test)', () => {
    const r = cli(['version', '--json']);
    expect(JSON.parse(r.out)).toMatchObject({ vault_engine: 'available', vault_engine_error: null });
    expect(cli(['version']).out).toMatch(/, vault engine available\)\n$/);
  });

  it('unknown flags are usage errors', () => {
    const r = cli(['version', '--jsno']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown flag --jsno');
  });

  it('run without enrollment -> one clear error, exit 1', () => {
    const d = tmp();
    const r = cli(['run', '--state-dir', d]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('not enrolled yet');
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('health-check without a running agent -> exit 1 with the reason; RM_AGENT_STATE_DIR is honoured', () => {
    const d = tmp();
    const r = cli(['health-check'], { RM_AGENT_STATE_DIR: d });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/unhealthy: no status file/);
  });

  it('dump-state redacts secrets (also the sealed schedules\' hooks and database passwords) unless --allow-secrets', () => {
    const d = tmp();
    const p = statePaths(d);
    const key = newSecretsKey();
    writeAgentConfig(p.config, { server_url: 'http://127.0.0.1:1', host_id: 'h9', bearer: 'bearer-secret-value-123', secrets_key: key });
    const b2 = { id: 'rb2', name: 'offsite', engine: 'restic' as const, url: 'b2:bkt:h9', password: 'b2-repo-pw-987', credentials: { backend: 'b2' as const, account_id: 'b2-acct-id-111', account_key: 'b2-app-key-222' } };
    writeSecrets(p.secrets, key, { repository: 'rest:http://h9:restpw-456@127.0.0.1:2/h9/', password: 'repo-password-789', repositories: [b2] });
    const sched = { schedule_version: 2, schedules: [{ id: 's1', pre_hook: 'hook-body-321', databases: [{ engine: 'postgres', password: 'db-password-654' }] }] };
    scheduleStore(p.schedules, p.legacySchedules, key, createLogger({ write: () => undefined })).save(sched);
    const r = cli(['dump-state', '--state-dir', d]);
    expect(r.code).toBe(0);
    for (const s of ['bearer-secret-value-123', 'repo-password-789', 'restpw-456', key, 'hook-body-321', 'db-password-654', 'b2-repo-pw-987', 'b2-acct-id-111', 'b2-app-key-222']) expect(r.out).not.toContain(s);
    expect(JSON.parse(r.out)).toMatchObject({
      config: { host_id: 'h9', bearer: '[redacted]' }, secrets: { password: '[redacted]', repositories: [{ id: 'rb2', name: 'offsite', engine: 'restic', url: 'b2:bkt:h9', backend: 'b2' }] },
      schedules: { schedule_version: 2, schedules: [{ pre_hook: '[redacted]', databases: [{ password: '[redacted]' }] }] },
    });
    const all = cli(['dump-state', '--state-dir', d, '--allow-secrets']);
    expect(JSON.parse(all.out)).toMatchObject({ config: { bearer: 'bearer-secret-value-123' }, secrets: { password: 'repo-password-789', repositories: [b2] }, schedules: sched });
  });

  it('dump-state on a corrupt agent.yaml -> exit 1 with one clear line', () => {
    const d = tmp();
    fs.writeFileSync(statePaths(d).config, '{{{ not yaml');
    const r = cli(['dump-state', '--state-dir', d]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/agent\.yaml is corrupt/);
  });

  describe('enroll', () => {
    let bodies: Record<string, unknown>[] = [];
    async function withServer(status: number, answer: object, fn: (url: string) => Promise<void>): Promise<void> {
      bodies = [];
      const s = http.createServer((req, res) => {
        let b = '';
        req.on('data', (c: Buffer) => (b += c.toString()));
        req.on('end', () => {
          bodies.push({ path: req.url, ...(JSON.parse(b) as object) });
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        });
      });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      try {
        await fn(`http://127.0.0.1:${(s.address() as AddressInfo).port}`);
      } finally {
        s.close();
      }
    }

    it('posts the token and host metadata, writes agent.yaml 0600 with a fresh secrets key', async () => {
      await withServer(201, { host_id: 'host-42', bearer_token: 'issued-bearer-abc', server_url: 'x', ws_url: 'ws://127.0.0.1:1/api/agents/ws', protocol_version: 1 }, async (url) => {
        const d = tmp();
        const r = await cliAsync(['enroll', '--server', url + '/', '--state-dir', d], { RM_TOKEN: 'one-time-token-xyz' });
        expect(r.err).toBe('');
        expect(r.code).toBe(0);
        expect(r.out).toContain('enrolled as host host-42');
        expect(bodies[0]).toMatchObject({ path: '/api/agents/enroll', token: 'one-time-token-xyz', hostname: os.hostname(), agent_version: '0.1.0' });
        const cfg = readAgentConfig(statePaths(d).config);
        expect(cfg).toMatchObject({ server_url: url, host_id: 'host-42', bearer: 'issued-bearer-abc', ws_url: 'ws://127.0.0.1:1/api/agents/ws' });
        expect(fs.statSync(statePaths(d).config).mode & 0o777).toBe(0o600);
        const again = await cliAsync(['enroll', '--server', url, '--token', 't', '--state-dir', d]);
        expect(again.code).toBe(1);
        expect(again.err).toContain('already enrolled');
      });
    });

    it('a refused token -> exit 1 with the server message, nothing written', async () => {
      await withServer(401, { error: { code: 'token_invalid', message: 'enrollment token expired or already used' } }, async (url) => {
        const d = tmp();
        const r = await cliAsync(['enroll', '--server', url, '--token', 'stale', '--state-dir', d]);
        expect(r.code).toBe(1);
        expect(r.err).toContain('HTTP 401 token_invalid');
        expect(r.err).toContain('expired or already used');
        expect(r.err).not.toContain('stale');
        expect(fs.readdirSync(d)).toEqual([]);
      });
    });

    it('an unreachable server -> exit 1 naming it', async () => {
      const d = tmp();
      const r = await cliAsync(['enroll', '--server', 'http://127.0.0.1:9', '--token', 't', '--state-dir', d]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
    });
  });
});
