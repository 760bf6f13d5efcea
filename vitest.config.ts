import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

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
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './scripts/summary-reporter.mjs'],
  },
});
