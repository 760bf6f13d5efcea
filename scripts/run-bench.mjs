#!/usr/bin/env node
// `npm run bench:<name> -- [args]`: set-up, compile bench/, then run bench/dist/<name>.bench.js.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { setup } from './setup.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...args] = process.argv.slice(2);
const file = path.join(root, 'bench', `${name}.bench.ts`);
if (!name || !existsSync(file)) {
  process.stderr.write(`unknown benchmark '${name ?? ''}': expected bench/<name>.bench.ts\n`);
  process.exit(2);
}
setup();
const tsc = spawnSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-b', 'bench'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const js = path.join(root, 'bench', 'dist', `${name}.bench.js`);
const r = spawnSync(process.execPath, ['--expose-gc', js, ...args], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
