import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { ROOT, runCollect } from './agent-harness.js';

const CLI = path.join(ROOT, 'packages/cli/dist/main.js');
const restic = requireTool('restic');
if (!restic.ok) console.warn(`skipping the demo smoke test: ${restic.reason}`);

describe.skipIf(!restic.ok)('restic-manager demo --once (the whole system, non-interactive)', () => {
  let t: TempDir;
  beforeAll(async () => {
    t = await tempDir('rm-demo-');
  });
  afterAll(async () => t.cleanup());

  it('starts server + agent, enrolls, backs up the sample folder once, and exits 0', async () => {
    const dir = path.join(t.path, 'demo');
    const r = await runCollect(process.execPath, [CLI, 'demo', '--once', '--json', '--port', '0', '--dir', dir]);
    expect(r.code, r.err + r.out).toBe(0);
    const summary = JSON.parse(r.out.trim().split('\n').pop()!) as { ok: boolean; url: string; snapshot: string; seconds: number };
    expect(summary.ok).toBe(true);
    expect(summary.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(summary.snapshot).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.statSync(path.join(dir, 'admin-password')).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(dir, 'repo', 'config'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'agent', 'agent.yaml'), 'utf8')).toContain('host_id');
    const agentLog = fs.readFileSync(path.join(dir, 'agent.log'), 'utf8');
    expect(agentLog).toContain('job finished');
    expect(agentLog).not.toMatch(/"level":"error"/);
    // The process is gone: nothing keeps listening on the demo's port.
    await expect(fetch(summary.url)).rejects.toThrow();
  }, 120_000);
});
