import { stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, requireTool, tempDir } from '@restic-manager/testkit';

describe('tempDir', () => {
  it('creates a private directory and cleanup removes it with its contents', async () => {
    const dir = await tempDir('tk-');
    expect(path.basename(dir.path)).toMatch(/^tk-/);
    expect((await stat(dir.path)).mode & 0o777).toBe(0o700);
    await writeFile(path.join(dir.path, 'f'), 'x');
    await dir.cleanup();
    await expect(stat(dir.path)).rejects.toMatchObject({ code: 'ENOENT' });
    await dir.cleanup(); // idempotent
  });
});

describe('freePort', () => {
  it('returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const srv = createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((r) => srv.close(r));
  });
});

describe('requireTool', () => {
  it('finds restic and explains a missing tool', () => {
    expect(requireTool('restic')).toMatchObject({ ok: true });
    const missing = requireTool('definitely-not-a-tool-xyz');
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.reason).toContain('definitely-not-a-tool-xyz');
  });
});
