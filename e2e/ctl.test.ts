import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from './local-stack.js';
import { eventually, localStackTools, startLocalStack } from './local-stack.js';

/*
 * `restic-manager ctl` (issue 21, docs/cli.md): the compiled CLI against a real server, a real
 * agent and real restic on a local repository, authenticated only by an API token (RM_TOKEN or a
 * 0600 config file). run --wait and logs -f follow the job over the job stream WebSocket and exit
 * with its result; refusals map to the documented exit codes.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'packages/cli/dist/main.js');
const missing = [...localStackTools, ...(fs.existsSync(CLI) ? [] : [`${CLI} (run npx tsc -b)`])];
if (missing.length) console.warn(`skipping ctl e2e: missing ${missing.join(', ')}`);

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the CLI asynchronously (the server runs in this process: a synchronous spawn would block it). */
function ctl(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'ctl', ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

describe.skipIf(missing.length > 0)('restic-manager ctl against a real server, agent and restic', { timeout: 120_000 }, () => {
  let stack: LocalStack;
  let env: Record<string, string>;
  let token: string;
  let data: string;
  const tokenFor = async (body: Record<string, unknown>): Promise<{ token: string; id: string }> => {
    const r = await stack.api.req('POST', '/api/tokens', body);
    if (r.status !== 201) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`);
    return { token: r.body.token as string, id: r.body.api_token.id as string };
  };

  beforeAll(async () => {
    stack = await startLocalStack();
    token = (await tokenFor({ name: 'ctl-e2e', role: 'operator' })).token;
    env = { RM_TOKEN: token, RM_SERVER: stack.server.url, XDG_CONFIG_HOME: path.join(stack.tmp.path, 'no-config') };
    data = path.join(stack.tmp.path, 'data');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'a.txt'), 'ctl e2e file\n');
  });
  afterAll(async () => stack?.close());

  it('lists hosts as text and as JSON', async () => {
    const text = await ctl(['hosts'], env);
    expect(text.code, text.err).toBe(0);
    expect(text.out.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+LAST BACKUP/);
    expect(text.out).toMatch(/local1\s+online/);
    const json = await ctl(['hosts', '--json'], env);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.out) as { items: { name: string }[] }).items.map((h) => h.name)).toEqual(['local1']);
  });

  it('run --wait follows a real backup live and exits 0; snapshots then lists it', async () => {
    const r = await ctl(['run', 'local1', 'backup', '--path', data, '--tag', 'from-ctl', '--wait'], env);
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    expect(r.err).toMatch(/^job [0-9a-f-]{36} \(backup on local1\)/);
    expect(r.out).toMatch(/snapshot [0-9a-f]{8} saved|"message_type":"summary"/);
    const snaps = await eventually(async () => {
      const s = await ctl(['snapshots', 'local1', '--json'], env);
      const items = (JSON.parse(s.out) as { items: { tags: string[]; paths: string[] }[] }).items;
      return items.length > 0 ? items : null;
    }, 30_000, 'the snapshot to be listed');
    expect(snaps[0]?.tags).toContain('from-ctl');
    expect(snaps[0]?.paths).toEqual([data]);
    const text = await ctl(['snapshots', 'local1'], env);
    expect(text.out).toContain('from-ctl');
  });

  it('restore --wait puts the backed-up file back under a target directory, byte for byte', async () => {
    const snaps = JSON.parse((await ctl(['snapshots', 'local1', '--json'], env)).out) as { items: { short_id: string }[] };
    const target = path.join(stack.tmp.path, 'restored');
    const r = await ctl(['restore', 'local1', snaps.items[0]!.short_id, '--target', target, '--wait'], env);
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    expect(fs.readFileSync(path.join(target, data, 'a.txt'), 'utf8')).toBe('ctl e2e file\n');
    const bad = await ctl(['restore', 'local1', snaps.items[0]!.short_id], env);
    expect([bad.code, bad.err.trim()]).toEqual([2, 'restic-manager ctl: give exactly one of --target DIR or --in-place']);
  });

  it('cancel stops a running backup; logs -f then exits 11', async () => {
    const run = await ctl(['run', 'local1', 'backup', '--path', '/usr'], env);
    const id = run.out.trim();
    await eventually(async () => (await stack.api.req('GET', `/api/jobs/${id}`)).body.status === 'running', 20_000, 'the backup to run');
    const follow = ctl(['logs', '-f', id], env);
    const c = await ctl(['cancel', id], env);
    expect(c.code, c.err).toBe(0);
    expect(c.out).toContain(id);
    const f = await follow;
    expect(f.code, f.err).toBe(11);
    expect(f.err).toMatch(new RegExp(`job ${id} cancelled`));
    expect((await ctl(['cancel', '00000000-0000-0000-0000-000000000000'], env)).code).toBe(5);
  });

  it('run prints the job id; logs -f follows it to the end with the log once; jobs lists it', async () => {
    const run = await ctl(['run', 'local1', 'check'], env);
    expect(run.code, run.err).toBe(0);
    const id = run.out.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const logs = await ctl(['logs', '-f', id, '--json'], env);
    expect(logs.code, logs.err).toBe(0);
    const lines = logs.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; seq?: number; payload?: string; status?: string });
    expect(lines.at(-1)).toMatchObject({ type: 'job.finished', status: 'succeeded' });
    const seqs = lines.filter((l) => l.type === 'log').map((l) => l.seq ?? -1);
    expect(seqs.length).toBeGreaterThan(0);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(lines.map((l) => l.payload ?? '').join('\n')).toMatch(/no errors were found/);
    // After the fact, logs (without -f) prints the same stored lines and exits 0.
    const again = await ctl(['logs', id], env);
    expect(again.code).toBe(0);
    expect(again.out + again.err).toMatch(/no errors were found/);
    const jobs = await ctl(['jobs', '--json'], env);
    expect((JSON.parse(jobs.out) as { items: { id: string; status: string }[] }).items.find((j) => j.id === id)?.status).toBe('succeeded');
  });

  it('exits 10 when the followed job fails, with its error on stderr', async () => {
    const r = await ctl(['run', 'local1', 'backup', '--path', path.join(data, 'does-not-exist'), '--wait'], env);
    expect(r.code, `${r.out}\n${r.err}`).toBe(10);
    expect(r.err).toMatch(/job [0-9a-f-]{36} failed/);
  });

  it('lists alerts (the failed backup raised one)', async () => {
    const r = await eventually(async () => {
      const a = await ctl(['alerts', '--json'], env);
      const items = (JSON.parse(a.out) as { items: { kind: string }[] }).items;
      return items.some((i) => i.kind === 'backup_failed') ? a : null;
    }, 15_000, 'a backup_failed alert');
    expect(r.code).toBe(0);
    const text = await ctl(['alerts'], env);
    expect(text.out).toMatch(/critical|warning/);
    expect(text.out).toContain('local1');
  });

  it('reads the token from a 0600 config file and refuses one readable by others', async () => {
    const dir = path.join(stack.tmp.path, 'cfg', 'restic-manager');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'ctl.json');
    fs.writeFileSync(file, JSON.stringify({ server: stack.server.url, token }), { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const bare = { XDG_CONFIG_HOME: path.join(stack.tmp.path, 'cfg') };
    const loose = await ctl(['hosts'], bare);
    expect(loose.code).toBe(3);
    expect(loose.err).toContain('mode 0644');
    expect(loose.err).toContain(`chmod 600 ${file}`);
    expect(loose.err).not.toContain(token);
    fs.chmodSync(file, 0o600);
    const ok = await ctl(['hosts'], bare);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain('local1');
    const explicit = await ctl(['--config', file, 'hosts', '--json'], {});
    expect(explicit.code, explicit.err).toBe(0);
  });

  it('maps refusals to the documented exit codes', async () => {
    const none = await ctl(['hosts'], { RM_SERVER: stack.server.url, XDG_CONFIG_HOME: path.join(stack.tmp.path, 'empty') });
    expect(none.code).toBe(3);
    expect(none.err).toMatch(/no API token: set RM_TOKEN/);
    const revoked = await tokenFor({ name: 'to-revoke' });
    await stack.api.req('DELETE', `/api/tokens/${revoked.id}`);
    const r3 = await ctl(['hosts'], { ...env, RM_TOKEN: revoked.token });
    expect([r3.code, r3.err.trim()]).toEqual([3, 'restic-manager ctl: API token "to-revoke" was revoked (token_invalid)']);
    const viewer = await tokenFor({ name: 'viewer', role: 'viewer' });
    const r4 = await ctl(['run', 'local1', 'check'], { ...env, RM_TOKEN: viewer.token });
    expect(r4.code).toBe(4);
    expect(r4.err).toMatch(/requires the operator role/);
    const scoped = await tokenFor({ name: 'scoped', scope_tags: ['elsewhere'] });
    // A scoped token's lists are filtered to its hosts (none here), not refused (issue 21, scoped roles).
    const scopedAlerts = await ctl(['alerts', '--json'], { ...env, RM_TOKEN: scoped.token });
    expect(scopedAlerts.code).toBe(0);
    expect(scopedAlerts.out).not.toContain('local1');
    const r5 = await ctl(['snapshots', 'local1'], { ...env, RM_TOKEN: scoped.token });
    expect(r5.code).toBe(5);
    expect((await ctl(['logs', '00000000-0000-0000-0000-000000000000'], env)).code).toBe(5);
    const usage = await ctl(['run', 'local1', 'explode'], env);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/unknown job kind 'explode'/);
    const down = await ctl(['hosts'], { ...env, RM_SERVER: 'http://127.0.0.1:9' });
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it('has --help for ctl and each command, ending with the exit status table', async () => {
    const top = await ctl(['--help'], {});
    expect(top.code).toBe(0);
    for (const c of ['alerts', 'cancel', 'hosts', 'jobs', 'logs', 'restore', 'run', 'snapshots']) expect(top.out).toContain(`  ${c}`);
    for (const c of ['hosts', 'jobs', 'run', 'logs', 'snapshots', 'alerts', 'restore', 'cancel']) {
      const h = await ctl([c, '--help'], {});
      expect(h.code).toBe(0);
      expect(h.out).toMatch(new RegExp(`^Usage: restic-manager ctl ${c}`));
      expect(h.out).toContain('Exit status:');
    }
  });
});
