import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allCmdlines, environOf, processInfo, processes } from '../src/procs.js';

describe('processes from /proc', () => {
  it('finds a child with its parent, argv and environment, and not once it is gone', async () => {
    // a name with a space and a parenthesis: /proc/<pid>/stat puts it inside the parentheses the fields follow
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-procs-'));
    const exe = path.join(dir, 'odd) name');
    fs.copyFileSync('/bin/sleep', exe);
    fs.chmodSync(exe, 0o755);
    const child = spawn(exe, ['30'], { env: { MARK: 'procs-test-7d1' }, stdio: 'ignore' });
    try {
      await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
      const pid = child.pid!;
      const me = processInfo(pid);
      expect(me).toMatchObject({ pid, ppid: process.pid, argv: [exe, '30'], cmdline: `${exe} 30` });
      expect(me!.state).toMatch(/^[RSD]$/);
      expect(processes().filter((p) => p.ppid === process.pid).map((p) => p.pid)).toContain(pid);
      expect(environOf(pid)).toContain('MARK=procs-test-7d1');
      expect(allCmdlines().split('\n')).toContain(`${exe} 30`);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(processInfo(pid)).toBeNull();
      expect(environOf(pid)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
