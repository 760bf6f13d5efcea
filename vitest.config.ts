import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

// `cargo install` (scripts/setup.mjs installs rustic that way) puts binaries in ~/.cargo/bin,
// which is often not on PATH in CI: the tests look there too (requireTool, spawned engines).
const cargoBin = path.join(os.homedir(), '.cargo', 'bin');
const dirs = (process.env.PATH ?? '').split(path.delimiter);
const PATH = existsSync(cargoBin) && !dirs.includes(cargoBin) ? [...dirs, cargoBin].join(path.delimiter) : process.env.PATH;

export default defineConfig({
  resolve: {
    // Tests import workspace packages from source, so no build is needed between edits.
    // (Tests that spawn the CLIs use dist/, which `npm test` builds first.)
    alias: [
      // A subpath export `@restic-manager/<pkg>/<name>` is `packages/<pkg>/src/<name>.ts`.
      { find: /^@restic-manager\/([a-z-]+)\/([a-z-]+)$/, replacement: `${packages}$1/src/$2.ts` },
      { find: /^@restic-manager\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'e2e/**/*.test.ts'],
    ...(PATH ? { env: { PATH } } : {}),
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './scripts/summary-reporter.mjs'],
  },
});
