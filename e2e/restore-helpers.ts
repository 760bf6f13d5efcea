/* Assertions shared by the restore e2e tests: file trees with hashes and modes, restic key counts, secrets on disk. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { requireTool } from '@restic-manager/testkit';
import type { StackAgent } from './restore-stack.js';

/** path (relative) -> "sha256 mode" for every regular file and directory under `root`. */
export function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const st = fs.lstatSync(p);
      const rel = path.relative(root, p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[`${rel}/`] = mode;
        walk(p);
      } else if (st.isFile()) out[rel] = `${createHash('sha256').update(fs.readFileSync(p)).digest('hex')} ${mode}`;
      else if (st.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(p)}`;
    }
  };
  walk(root);
  return out;
}

export function keyCount(a: StackAgent): number {
  const restic = requireTool('restic');
  if (!restic.ok) throw new Error(restic.reason);
  const out = execFileSync(restic.path, ['key', 'list', '--json', '-r', a.directRepo], { env: { ...process.env, RESTIC_PASSWORD: a.repoPassword }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  return (JSON.parse(out) as unknown[]).length;
}

/** Every byte under `dir` (files only, recursively) as one latin1 string, to search for secrets. */
export function allBytes(dir: string): string {
  let acc = '';
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) acc += fs.readFileSync(p).toString('latin1');
    }
  };
  walk(dir);
  return acc;
}

