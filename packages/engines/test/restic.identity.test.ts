import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, tempDir, type TempDir } from '@restic-manager/testkit';
import { ResticEngine, type Connection } from '@restic-manager/engines';

/*
 * `identity` (issue 16): the repository's key ids and config id, read without a lock, so the
 * server can tell a key it did not add. Checked against what restic itself prints.
 */
const restic = requireTool('restic');
if (!restic.ok) console.warn(`skipping restic identity: ${restic.reason}`);

describe.skipIf(!restic.ok)('restic repository identity', () => {
  const engine = new ResticEngine();
  let tmp: TempDir;
  let conn: Connection;
  const raw = (args: string[]) => spawnSync('restic', ['-r', conn.repository, '--no-cache', ...args], { env: { ...process.env, RESTIC_PASSWORD: 'identity-pass' }, encoding: 'utf8' });
  beforeAll(async () => {
    tmp = await tempDir('rm-identity-');
    conn = { repository: path.join(tmp.path, 'repo'), password: 'identity-pass', noCache: true };
    expect((await engine.init(conn)).ok).toBe(true);
  });
  afterAll(() => tmp.cleanup());

  it('lists the full key ids and the config id; a key added shows up, and no lock is taken', async () => {
    const first = await engine.identity(conn);
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const config = JSON.parse(raw(['cat', 'config']).stdout) as { id: string };
    expect(first.value.configId).toBe(config.id);
    expect(first.value.keyIds).toHaveLength(1);
    expect(first.value.keyIds[0]).toMatch(/^[0-9a-f]{64}$/);

    const added = await engine.keyAdd(conn, { newPassword: 'a-second-key-password' });
    expect(added.ok).toBe(true);
    const second = await engine.identity(conn);
    expect(second.ok && second.value.keyIds.length).toBe(2);
    if (!second.ok || !added.ok) return;
    expect(second.value.keyIds.some((k) => k.startsWith(added.value.keyId))).toBe(true);
    expect(second.value.configId).toBe(config.id);
    expect(raw(['list', 'locks', '--no-lock']).stdout.trim()).toBe('');
  });

  it('a wrong password fails with wrong_password, not an empty list', async () => {
    const r = await engine.identity({ ...conn, password: 'not-the-password' });
    expect(r.ok ? 'ok' : r.error.kind).toBe('wrong_password');
  });
});
