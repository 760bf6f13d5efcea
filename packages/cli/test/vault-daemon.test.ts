import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import { LocalStorage, listSnapshots, X25519Identity } from '@restic-manager/vault';
import { CLI, haveCli } from './vault-cli-helpers.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('vault-daemon-');
});
afterEach(() => dir.cleanup());

async function waitFor(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe.skipIf(!haveCli)('vault backup --daemon', () => {
  it('backs up at start, again after a change, never sooner than min_time_between_run, exits 0 on SIGTERM', async () => {
    const src = path.join(dir.path, 'src');
    const repo = path.join(dir.path, 'repo');
    mkdirSync(src);
    mkdirSync(repo);
    writeFileSync(path.join(src, 'a.txt'), 'one');
    const cfg = path.join(dir.path, 'v.yaml');
    writeFileSync(
      cfg,
      `source_dirs: [${src}]\nage_recipient: ${X25519Identity.generate().recipient.toString()}\nlocal_dir: ${repo}\nindex_path: ${path.join(dir.path, 'i.sqlite')}\nbackup_interval: 1s\nmin_time_between_run: 2s\nfull_scan_interval: 1h\n`,
    );
    const storage = new LocalStorage(repo);
    const count = async () => (await listSnapshots(storage, 'index/')).filter((s) => s.committed).length;
    const child = spawn(process.execPath, [CLI, 'vault', 'backup', cfg, '--daemon', '--cron'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      expect(await waitFor(async () => (await count()) === 1, 15_000)).toBe(true);
      // "Nothing changed, no backup" is the pure rule's test (daemon-plan.test.ts): no clock to wait on.
      const changedAt = Date.now();
      writeFileSync(path.join(src, 'b.txt'), 'two');
      expect(await waitFor(async () => (await count()) === 2, 15_000)).toBe(true);
      const snaps = await listSnapshots(storage, 'index/');
      // The second snapshot was taken because of the change, not before it (snapshot times are whole seconds).
      expect(snaps[1]!.time.getTime()).toBeGreaterThanOrEqual(Math.floor(changedAt / 1000) * 1000);
      // Runs start at least min_time_between_run (2 s) apart; a snapshot's time is its id's whole
      // second, stamped a moment after its run starts, so two stamps are at least 1 s apart (2 s
      // when the first stamp falls early in its second; the exact rule is daemon-plan.test.ts's).
      expect(snaps[1]!.time.getTime() - snaps[0]!.time.getTime()).toBeGreaterThanOrEqual(1000);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
