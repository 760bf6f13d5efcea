import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResticEngine, openErrorKind } from '@restic-manager/engines';
import type { RepositoryConfig } from '@restic-manager/protocol';
import { requireTool, startWebdavServer, type WebdavServer } from '@restic-manager/testkit';
import { open, roundTrip } from './backends/roundtrip.js';

const missing = [requireTool('restic'), requireTool('rclone'), requireTool('htpasswd')].find((t) => !t.ok);
if (missing && !missing.ok) console.warn(`skipping the rclone backend tests: ${missing.reason}`);

const PW = 'rclone-repo-pw-8d2e';

describe.skipIf(missing !== undefined)('restic through rclone (a webdav remote served by rclone on loopback)', () => {
  let dav: WebdavServer;
  let root: string;
  const repo = (name: string, pass: string): RepositoryConfig => ({
    id: name, name, engine: 'restic', url: `rclone:dav:${name}`, password: PW,
    credentials: { backend: 'rclone', remote_type: 'webdav', options: { url: dav.url, vendor: 'other', user: dav.user, pass } },
  });

  beforeAll(async () => {
    dav = await startWebdavServer();
    root = await mkdtemp(path.join(os.tmpdir(), 'rm-rclone-client-'));
  });
  afterAll(async () => {
    await dav?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('init, backup and a byte-for-byte restore with a generated rclone.conf', async () => {
    await roundTrip(repo('repo1', dav.obscuredPassword), root, [dav.obscuredPassword, PW]);
  });

  it('a wrong webdav password is wrong_credentials', async () => {
    const bad = await open(repo('repo1', 'bm90LXRoZS1wYXNzd29yZA'), root);
    const r = await new ResticEngine().snapshots(bad.conn, undefined, { timeoutMs: 60_000 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(openErrorKind(r.error), r.error.stderrTail.join('\n')).toBe('wrong_credentials');
  });
});
