import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { ROOT } from './agent-harness.js';

/*
 * The systemd units (deploy/systemd): both services pass `systemd-analyze verify`, and
 * `systemd-analyze security --offline` rates their exposure (printed; docs/operations.md keeps
 * the figures). ExecStart is pointed at an existing binary in a copy, as verify checks it exists.
 */

const DIR = path.join(ROOT, 'deploy/systemd');
const UNITS = ['restic-manager.service', 'restic-manager-agent.service', 'restic-manager-backup.service', 'restic-manager-backup.timer'];
const analyze = requireTool('systemd-analyze');
if (!analyze.ok) console.warn(`skipping systemd unit checks: ${analyze.reason}`);

describe('server unit', () => {
  it('runs as its own unprivileged user with the sandbox of docs/operations.md', () => {
    const lines = fs.readFileSync(path.join(DIR, 'restic-manager.service'), 'utf8').split('\n');
    for (const l of ['User=restic-manager', 'DynamicUser=yes', 'EnvironmentFile=-/etc/restic-manager/server.env', 'StateDirectory=restic-manager-server',
      'Environment=RM_DATA_DIR=/var/lib/restic-manager-server', 'CapabilityBoundingSet=', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes',
      'PrivateTmp=yes', 'RestrictSUIDSGID=yes', 'UMask=0077']) expect(lines, l).toContain(l);
    expect(lines.some((l) => l.startsWith('User=root'))).toBe(false);
  });
});

describe.skipIf(!analyze.ok)('systemd-analyze', () => {
  let t: TempDir;
  beforeAll(async () => {
    t = await tempDir('rm-units-');
    for (const u of UNITS) fs.writeFileSync(path.join(t.path, u), fs.readFileSync(path.join(DIR, u), 'utf8').replace(/^ExecStart=(?!\/bin\/sh )\S+/m, 'ExecStart=/bin/true'));
  });
  afterAll(async () => t?.cleanup());

  it('verify: every unit is clean', () => {
    const r = spawnSync('systemd-analyze', ['verify', ...UNITS.map((u) => path.join(t.path, u))], { encoding: 'utf8' });
    expect(r.stderr.split('\n').filter((l) => UNITS.some((u) => l.includes(u)))).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('security --offline: the server is rated below 2.0, the agent (root, for reading every file) below 4.0', () => {
    const score = (unit: string): number => {
      const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', path.join(t.path, unit)], { encoding: 'utf8' });
      const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout + r.stderr);
      if (!m) throw new Error(`no exposure level in systemd-analyze security output: ${(r.stdout + r.stderr).slice(-400)}`);
      return Number(m[1]);
    };
    const server = score('restic-manager.service');
    const agent = score('restic-manager-agent.service');
    const backup = score('restic-manager-backup.service');
    console.log(`systemd-analyze security: restic-manager.service=${server} restic-manager-agent.service=${agent} restic-manager-backup.service=${backup}`);
    expect(server).toBeLessThan(2);
    expect(backup).toBeLessThan(3);
    expect(agent).toBeLessThan(4);
  });
});
