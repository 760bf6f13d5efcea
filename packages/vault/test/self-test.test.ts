import { describe, expect, it } from 'vitest';
import { selfTest } from '@restic-manager/vault';

describe('selfTest', () => {
  it('resolves on a host where SQLite, zstd and the S3 client load', async () => {
    await expect(selfTest()).resolves.toBeUndefined();
  });
});
