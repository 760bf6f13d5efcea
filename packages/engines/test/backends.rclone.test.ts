import { describe, expect, it } from 'vitest';
import { ResticEngine, openErrorKind } from '@restic-manager/engines';
import type { RepositoryConfig } from '@restic-manager/protocol';
import { requireTool, startWebdavServer } from '@restic-manager/testkit';
import { open, roundTrip } from './backends/roundtrip.js';
import { useServerBench } from './backends/server-bench.js';

const missing = [requireTool('restic'), requireTool('rclone'), requireTool('htpasswd')].find((t) => !t.ok);
if (missing && !missing.ok) console.warn(`skipping the rclone backend tests: ${missing.reason}`);

const PW = 'rclone-repo-pw-8d2e';

describe.skipIf(missing !== undefined)('restic through rclone (a webdav remote served by rclone on loopback)', () => {
  const env = useServerBench(startWebdavServer, 'rm-rclone-client-');
  const repo = (name: string, pass: string): RepositoryConfig => ({
    id: name, name, engine: 'restic', url: `rclone:dav:${name}`, password: PW,
    credentials: { backend: 'rclone', remote_type: 'webdav', options: { url: env.server.url, vendor: 'other', user: env.server.user, pass } },
  });

  it('init, backup and a byte-for-byte restore with a generated rclone.conf', async () => {
    await roundTrip(repo('repo1', env.server.obscuredPassword), env.root, [env.server.obscuredPassword, PW]);
  });

  it('a wrong webdav password is wrong_credentials', async () => {
    const bad = await open(repo('repo1', 'bm90LXRoZS1wYXNzd29yZA'), env.root);
    const r = await new ResticEngine().snapshots(bad.conn, undefined, { timeoutMs: 60_000 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(openErrorKind(r.error), r.error.stderrTail.join('\n')).toBe('wrong_credentials');
  });
});
