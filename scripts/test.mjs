#!/usr/bin/env node
// `npm test`: set-up, typecheck (build + tests), lint, then every unit, integration and e2e test.
// Extra arguments go to vitest (e.g. `npm test -- packages/engines`).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { setup } from './setup.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function step(name, cmd, args) {
  process.stderr.write(`\n== ${name}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stdout.write(`${name} failed (exit ${r.status ?? r.signal})\n0 passed, 1 failed\n`);
    process.exit(r.status || 1);
  }
}

setup();
step('typecheck tests', bin('tsc'), ['-p', 'tsconfig.tests.json']);
// No import cycle anywhere in packages/*/src (type-only imports count too: a cycle of types is a
// cycle of concepts).
const srcDirs = readdirSync(path.join(root, 'packages')).map((p) => path.join('packages', p, 'src'));
step('import cycles', bin('madge'), ['--circular', '--no-spinner', '--extensions', 'ts,tsx', '--ts-config', 'tsconfig.base.json', ...srcDirs]);
step('lint', bin('eslint'), ['--cache', '--cache-location', 'node_modules/.cache/eslint', '.']);
const r = spawnSync(bin('vitest'), ['run', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
