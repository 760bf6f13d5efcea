import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runUpdate, systemDeps } from '../src/cli/update.js';
import type { UpdateDeps } from '../src/cli/update.js';
import { tempDirs } from './helpers/temp-dirs.js';

/*
 * `restic-manager-agent update` wraps apt-get. apt-get itself cannot be run for real in a test
 * (it needs a package repository that publishes restic-manager-agent and would change the
 * machine), so a fake `apt-get` on PATH records its argv and environment and exits with
 * $FAKE_APT_EXIT. Everything else — PATH lookup, the root check, spawning, exit statuses,
 * --json — is the real code.
 */
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const { tmp } = tempDirs();

/** A fake apt-get (and a dpkg-query that reports `dpkgStatus` for the package, unless null). */
function fakeApt(exit = 0, dpkgStatus: string | null = 'installed'): { dir: string; record: string } {
  const dir = tmp('rm-fake-apt-');
  if (dpkgStatus !== null) fs.writeFileSync(path.join(dir, 'dpkg-query'), `#!/bin/sh\nprintf '%s' '${dpkgStatus}'\n`, { mode: 0o755 });
  const record = path.join(dir, 'argv.txt');
  fs.writeFileSync(path.join(dir, 'apt-get'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${record}'; done\nprintf 'DEBIAN_FRONTEND=%s\\n' "$DEBIAN_FRONTEND" >> '${record}'\necho 'fake apt-get output'\nexit ${exit}\n`, { mode: 0o755 });
  return { dir, record };
}

function deps(over: Partial<UpdateDeps>): UpdateDeps & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { ...systemDeps(), stdout: (s) => out.push(s), stderr: (s) => err.push(s), ...over, out, err };
}

describe('restic-manager-agent update', () => {
  it('--help names the apt-get command and the exit statuses', () => {
    const r = spawnSync(process.execPath, [MAIN, 'update', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: restic-manager-agent update [--dry-run] [--json]');
    expect(r.stdout).toContain('apt-get install --only-upgrade -y restic-manager-agent');
    expect(r.stdout).toContain('Exit status');
  });

  it('as root with apt-get on PATH: runs exactly apt-get install --only-upgrade -y restic-manager-agent, non-interactively', async () => {
    const apt = fakeApt(0);
    const d = deps({ isRoot: () => true, path: apt.dir });
    expect(await runUpdate(['--json'], d)).toBe(0);
    expect(fs.readFileSync(apt.record, 'utf8').split('\n').filter(Boolean)).toEqual(['install', '--only-upgrade', '-y', 'restic-manager-agent', 'DEBIAN_FRONTEND=noninteractive']);
    const report = JSON.parse(d.out.join('')) as Record<string, unknown>;
    expect(report).toMatchObject({ command: 'apt-get install --only-upgrade -y restic-manager-agent', dry_run: false, ran: true, exit_code: 0, apt_get: path.join(apt.dir, 'apt-get') });
  });

  it('apt-get failing -> exit 1 with its status', async () => {
    const apt = fakeApt(100);
    const d = deps({ isRoot: () => true, path: apt.dir });
    expect(await runUpdate([], d)).toBe(1);
    expect(d.err.join('')).toContain('apt-get exited with status 100');
  });

  it('not root -> refused with the sudo hint, apt-get never started', async () => {
    const apt = fakeApt(0);
    const d = deps({ isRoot: () => false, path: apt.dir });
    expect(await runUpdate([], d)).toBe(1);
    expect(d.err.join('')).toMatch(/must run as root.*sudo restic-manager-agent update/);
    expect(fs.existsSync(apt.record)).toBe(false);
  });

  it('a package dpkg does not know as installed (an install.sh agent) -> refused, apt-get never started', async () => {
    const apt = fakeApt(0, 'not-installed');
    const d = deps({ isRoot: () => true, path: apt.dir });
    expect(await runUpdate([], d)).toBe(1);
    expect(d.err.join('')).toContain('not installed as a Debian package');
    expect(fs.existsSync(apt.record)).toBe(false);
  });

  it('without dpkg-query, apt-get decides', async () => {
    const apt = fakeApt(0, null);
    expect(await runUpdate([], deps({ isRoot: () => true, path: apt.dir }))).toBe(0);
    expect(fs.readFileSync(apt.record, 'utf8')).toContain('--only-upgrade');
  });

  it('no apt-get on PATH -> refused, naming it', async () => {
    const empty = tmp('rm-no-apt-');
    const d = deps({ isRoot: () => true, path: empty });
    expect(await runUpdate(['--json'], d)).toBe(1);
    expect(d.err.join('')).toContain('apt-get was not found on PATH');
    expect(JSON.parse(d.out.join(''))).toMatchObject({ ran: false, apt_get: null });
  });

  it('--dry-run prints the command through the real CLI and runs nothing', () => {
    const apt = fakeApt(0);
    const r = spawnSync(process.execPath, [MAIN, 'update', '--dry-run', '--json'], { encoding: 'utf8', env: { ...process.env, PATH: apt.dir } });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ command: 'apt-get install --only-upgrade -y restic-manager-agent', dry_run: true, ran: false });
    expect(fs.existsSync(apt.record)).toBe(false);
    const text = spawnSync(process.execPath, [MAIN, 'update', '--dry-run'], { encoding: 'utf8', env: { ...process.env, PATH: apt.dir } });
    expect(text.stdout.trim()).toBe('apt-get install --only-upgrade -y restic-manager-agent');
  });

  it.runIf(process.getuid?.() === 0)('the real CLI as root runs the fake apt-get found on PATH', () => {
    const apt = fakeApt(0);
    const r = spawnSync(process.execPath, [MAIN, 'update'], { encoding: 'utf8', env: { ...process.env, PATH: apt.dir } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('fake apt-get output');
    expect(fs.readFileSync(apt.record, 'utf8')).toContain('--only-upgrade');
  });

  it('unknown flags are usage errors (exit 2)', () => {
    const r = spawnSync(process.execPath, [MAIN, 'update', '--yes'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown flag --yes');
  });
});
