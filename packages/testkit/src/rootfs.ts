/**
 * Root-filesystem tarballs for test images made without a registry: `docker import` of a tarball
 * holding a binary (e.g. node) and the shared libraries it needs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Writes a root-filesystem tarball holding `binaries` (absolute paths, e.g. the node binary) with
 * the shared libraries `ldd` lists for them, `extra` directories copied as they are, an
 * /etc/passwd and /etc/group with root and `users` (name → uid), and a world-writable /tmp.
 * `libsFor`: files (native Node.js modules the image will carry) whose libraries are added too.
 * `docker import` turns it into a base image without any registry.
 */
export function rootfsTarball(out: string, binaries: string[], extra: string[] = [], users: Record<string, number> = {}, libsFor: string[] = []): void {
  const stage = mkdtempSync(path.join(os.tmpdir(), 'rm-rootfs-'));
  try {
    const files = new Set<string>(binaries);
    for (const b of [...binaries, ...libsFor]) {
      for (const line of execFileSync('ldd', [b], { encoding: 'utf8' }).split('\n')) {
        const m = /(\/\S+) \(0x/.exec(line);
        if (m?.[1]) files.add(m[1]);
      }
    }
    mkdirSync(path.join(stage, 'etc'));
    mkdirSync(path.join(stage, 'tmp'), { mode: 0o1777 });
    const passwd = ['root:x:0:0:root:/root:/bin/sh', ...Object.entries(users).map(([n, id]) => `${n}:x:${id}:${id}:${n}:/nonexistent:/bin/false`)];
    writeFileSync(path.join(stage, 'etc/passwd'), `${passwd.join('\n')}\n`);
    writeFileSync(path.join(stage, 'etc/group'), `${['root:x:0:', ...Object.entries(users).map(([n, id]) => `${n}:x:${id}:`)].join('\n')}\n`);
    writeFileSync(path.join(stage, 'etc/hosts'), `${readFileSync('/etc/hosts', 'utf8').split('\n').filter((l) => /localhost/.test(l)).join('\n')}\n`);
    // tar --dereference copies each file's content under its own path (symlinked libs included).
    execFileSync('tar', ['-C', stage, '-cf', out, '.']);
    execFileSync('tar', ['-rf', out, '--dereference', '-P', '--transform', 's,^/,,', ...files, ...extra]);
  } finally {
    execFileSync('rm', ['-rf', stage]);
  }
}
