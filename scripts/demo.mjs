#!/usr/bin/env node
// `npm run demo`: set-up (Debian tools, npm packages, build), then `restic-manager demo`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { setup } from './setup.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
setup({ tools: ['restic', 'rclone', 'htpasswd'] });
const r = spawnSync(process.execPath, [path.join(root, 'packages/cli/dist/main.js'), 'demo', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
