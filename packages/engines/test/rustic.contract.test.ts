import { describe, it } from 'vitest';
import { requireTool } from '@restic-manager/testkit';
import { RusticEngine } from '@restic-manager/engines';
import { engineContract } from './contract/suite.js';

/** The same contract suite as restic, live against a real rustic when one is installed. */
const rustic = requireTool('rustic');
if (rustic.ok) {
  engineContract(() => new RusticEngine(), 'local');
} else {
  console.warn(`[rustic contract] skipped: ${rustic.reason}`);
  describe('rustic contract on local', () => {
    it.skip(`skipped: ${rustic.reason} (parsers are tested on recorded output in unit.rustic-parse.test.ts)`, () => undefined);
  });
}
