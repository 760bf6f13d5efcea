import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResticEngine, openErrorKind } from '@restic-manager/engines';
import type { RepositoryConfig } from '@restic-manager/protocol';
import { makeCorpus, requireTool, sshdPath, startSftpServer, type SftpServer } from '@restic-manager/testkit';
import { must, open, roundTrip } from './backends/roundtrip.js';

const missing = [requireTool('restic'), requireTool('ssh')].find((t) => !t.ok);
const why = missing && !missing.ok ? missing.reason : sshdPath() ? null : 'sshd is not installed (openssh-server)';
if (why) console.warn(`skipping the SFTP backend tests: ${why}`);

const PW = 'sftp-repo-pw-4a7b';

describe.skipIf(why !== null)('restic over SFTP (a real OpenSSH server on loopback) through the materialiser', () => {
  let sftp: SftpServer;
  let root: string;
  const repo = (name: string, over: Partial<Extract<RepositoryConfig['credentials'], { backend: 'sftp' }>> = {}, password = PW): RepositoryConfig => ({
    id: name, name, engine: 'restic', url: sftp.repoUrl(name), password,
    credentials: { backend: 'sftp', private_key: sftp.privateKey, known_hosts: sftp.knownHosts, ...over },
  });

  beforeAll(async () => {
    sftp = await startSftpServer();
    root = await mkdtemp(path.join(os.tmpdir(), 'rm-sftp-client-'));
  });
  afterAll(async () => {
    await sftp?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('init, backup and a byte-for-byte restore; the key never reaches argv or output', async () => {
    await roundTrip(repo('main'), root, [sftp.privateKey, PW]);
  });

  it('a changed host key fails with host_key_mismatch and nothing is backed up', async () => {
    const engine = new ResticEngine();
    const good = await open(repo('main'), root);
    const before = must(await engine.snapshots(good.conn), 'snapshots').length;
    const dataBefore = (await readdir(path.join(sftp.dataDir, 'main', 'data'), { recursive: true })).length;
    const src = path.join(root, 'more');
    await makeCorpus(src, { files: 3, totalBytes: 10_000, seed: 9 });
    const bad = await open(repo('main', { known_hosts: sftp.wrongKnownHosts }), root);
    const r = await engine.backup(bad.conn, { paths: [src] }, { timeoutMs: 60_000 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(openErrorKind(r.error), r.error.stderrTail.join('\n')).toBe('host_key_mismatch');
      // ssh's reason comes from its -E log file, not from restic's racy relay of ssh's stderr.
      expect(r.error.stderrTail).toContain('ssh.log: Host key verification failed.');
      expect(r.error.stderrTail.join('\n')).not.toContain(sftp.privateKey.split('\n')[1]!);
    }
    expect(must(await engine.snapshots(good.conn), 'snapshots')).toHaveLength(before);
    expect((await readdir(path.join(sftp.dataDir, 'main', 'data'), { recursive: true })).length).toBe(dataBefore);
  });

  it('open failures are told apart: wrong password, not initialised, unreachable', async () => {
    const engine = new ResticEngine();
    const kindOf = async (r: RepositoryConfig): Promise<string> => {
      const res = await engine.snapshots((await open(r, root)).conn, undefined, { timeoutMs: 60_000 });
      expect(res.ok).toBe(false);
      return res.ok ? 'ok' : `${openErrorKind(res.error)}: ${res.error.message}`;
    };
    expect(await kindOf(repo('main', {}, 'not-the-password'))).toMatch(/^wrong_password: /);
    expect(await kindOf(repo('nothing-here'))).toMatch(/^not_initialised: /);
    expect(await kindOf(repo('main', { port: 1 }))).toMatch(/^unreachable: /);
  });
});
