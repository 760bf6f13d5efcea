import { describe, it } from 'vitest';
import { requireTool } from '@restic-manager/testkit';
import { RusticEngine } from '@restic-manager/engines';
import { engineContract } from './contract/suite.js';

/**
 * The same contract suite as restic, live against a real rustic (scripts/setup.mjs installs
 * rustic-rs with cargo; vitest.config.ts puts ~/.cargo/bin on PATH), on the backends the
 * protocol offers rustic for that the testkit can start: local and REST (rclone serve restic).
 */
const rustic = requireTool('rustic');
const rclone = requireTool('rclone');
if (rustic.ok) {
  engineContract(() => new RusticEngine(), 'local');
  if (rclone.ok) engineContract(() => new RusticEngine(), 'rest');
  else console.warn(`[rustic contract] rest skipped: ${rclone.reason}`);
} else {
  console.warn(`[rustic contract] skipped: ${rustic.reason}`);
  describe('rustic contract', () => {
    it.skip(`skipped: ${rustic.reason} (run scripts/setup.mjs; parsers are tested on recorded output in unit.rustic-parse.test.ts)`, () => undefined);
  });
}
