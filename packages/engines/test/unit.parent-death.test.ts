import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dieWithParent, pdeathsigSetpriv, resolveExecutable } from '@restic-manager/engines';

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const setpriv = pdeathsigSetpriv();
if (!setpriv) console.warn('skipping parent-death tests: no setpriv with --pdeathsig (util-linux) on this host');
if (!fs.existsSync(DIST)) console.warn(`skipping the kill -9 test: ${DIST} is missing (run 'npx tsc -b')`);
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/** 'R', 'S', 'Z', … from /proc/<pid>/stat, or null once the process is gone. */
function procState(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!setpriv)('engine processes die with their parent (issue 22)', () => {
  it('wraps a resolvable tool as setpriv --pdeathsig KILL -- <absolute path> <args>, the args and env untouched', () => {
    const sh = resolveExecutable('sh', env);
    expect(sh).toMatch(/^\/.*\/sh$/);
    expect(dieWithParent('sh', ['-c', 'exit 0'], env)).toEqual({ binary: setpriv, args: ['--pdeathsig', 'KILL', '--', sh, '-c', 'exit 0'] });
  });

  it('leaves a tool that is not there (or not executable) to spawn, so ENOENT/EACCES are reported as before', () => {
    expect(dieWithParent('/nonexistent/restic', ['version'], env)).toEqual({ binary: '/nonexistent/restic', args: ['version'] });
    expect(dieWithParent('no-such-tool-rm22', [], env)).toEqual({ binary: 'no-such-tool-rm22', args: [] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-pdeath-'));
    try {
      fs.writeFileSync(path.join(dir, 'tool'), '#!/bin/sh\n', { mode: 0o644 });
      expect(resolveExecutable('tool', { PATH: dir })).toBeNull();
      expect(resolveExecutable('./tool', {}, dir)).toBeNull();
      fs.chmodSync(path.join(dir, 'tool'), 0o755);
      expect(resolveExecutable('tool', { PATH: `/nonexistent:${dir}` })).toBe(path.join(dir, 'tool'));
      expect(resolveExecutable('./tool', {}, dir)).toBe(path.join(dir, 'tool'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!fs.existsSync(DIST))('a runProcess child is killed when its parent process is killed -9', async () => {
    // A separate node process runs the built runner (as the agent does) and prints its child's PID.
    const script = `const { runProcess, Redactor } = await import(${JSON.stringify(DIST)});
      runProcess({ binary: 'sleep', args: ['300'], env: { PATH: process.env.PATH }, redactor: new Redactor([]), onSpawn: (pid) => console.log(pid) });`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    let child = 0;
    try {
      await until('the child PID', () => /^\d+\n/.test(out), 15_000);
      child = Number(out.trim());
      await until('the child to exec sleep', () => fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0')[1] === '300', 5000);
      // Same PID: setpriv execs the tool in place; its parent is the runner's process.
      expect(fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0')[0]).toMatch(/\/sleep$/);
      const gone = new Promise((r) => parent.once('exit', r));
      parent.kill('SIGKILL');
      await gone;
      // Dead means gone or a zombie waiting for init to reap it (it runs nothing, holds nothing).
      await until(`sleep (pid ${child}) to die with its parent`, () => [null, 'Z'].includes(procState(child)), 10_000);
    } finally {
      parent.kill('SIGKILL');
      if (child && ![null, 'Z'].includes(procState(child))) process.kill(child, 'SIGKILL');
    }
  });
});
