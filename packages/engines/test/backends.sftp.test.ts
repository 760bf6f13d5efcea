import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResticEngine, openErrorKind } from '@restic-manager/engines';
import type { RepositoryConfig } from '@restic-manager/protocol';
import { makeCorpus, requireTool, sshdPath, startSftpServer } from '@restic-manager/testkit';
import { must, open, roundTrip } from './backends/roundtrip.js';
import { useServerBench } from './backends/server-bench.js';

const missing = [requireTool('restic'), requireTool('ssh')].find((t) => !t.ok);
const why = missing && !missing.ok ? missing.reason : sshdPath() ? null : 'sshd is not installed (openssh-server)';
if (why) console.warn(`skipping the SFTP backend tests: ${why}`);

const PW = 'sftp-repo-pw-4a7b';

describe.skipIf(why !== null)('restic over SFTP (a real OpenSSH server on loopback) through the materialiser', () => {
  const env = useServerBench(startSftpServer, 'rm-sftp-client-');
  const repo = (name: string, over: Partial<Extract<RepositoryConfig['credentials'], { backend: 'sftp' }>> = {}, password = PW): RepositoryConfig => ({
    id: name, name, engine: 'restic', url: env.server.repoUrl(name), password,
    credentials: { backend: 'sftp', private_key: env.server.privateKey, known_hosts: env.server.knownHosts, ...over },
  });

  it('init, backup and a byte-for-byte restore; the key never reaches argv or output', async () => {
    await roundTrip(repo('main'), env.root, [env.server.privateKey, PW]);
  });

  it('a changed host key fails with host_key_mismatch and nothing is backed up', async () => {
    const engine = new ResticEngine();
    const good = await open(repo('main'), env.root);
    const before = must(await engine.snapshots(good.conn), 'snapshots').length;
    const dataBefore = (await readdir(path.join(env.server.dataDir, 'main', 'data'), { recursive: true })).length;
    const src = path.join(env.root, 'more');
    await makeCorpus(src, { files: 3, totalBytes: 10_000, seed: 9 });
    const bad = await open(repo('main', { known_hosts: env.server.wrongKnownHosts }), env.root);
    const r = await engine.backup(bad.conn, { paths: [src] }, { timeoutMs: 60_000 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(openErrorKind(r.error), r.error.stderrTail.join('\n')).toBe('host_key_mismatch');
      // ssh's reason comes from its -E log file, not from restic's racy relay of ssh's stderr.
      expect(r.error.stderrTail).toContain('ssh.log: Host key verification failed.');
      expect(r.error.stderrTail.join('\n')).not.toContain(env.server.privateKey.split('\n')[1]!);
    }
    expect(must(await engine.snapshots(good.conn), 'snapshots')).toHaveLength(before);
    expect((await readdir(path.join(env.server.dataDir, 'main', 'data'), { recursive: true })).length).toBe(dataBefore);
  });

  it('open failures are told apart: wrong password, not initialised, unreachable', async () => {
    const engine = new ResticEngine();
    const kindOf = async (r: RepositoryConfig): Promise<string> => {
      const res = await engine.snapshots((await open(r, env.root)).conn, undefined, { timeoutMs: 60_000 });
      expect(res.ok).toBe(false);
      return res.ok ? 'ok' : `${openErrorKind(res.error)}: ${res.error.message}`;
    };
    expect(await kindOf(repo('main', {}, 'not-the-password'))).toMatch(/^wrong_password: /);
    expect(await kindOf(repo('nothing-here'))).toMatch(/^not_initialised: /);
    expect(await kindOf(repo('main', { port: 1 }))).toMatch(/^unreachable: /);
  });
});
