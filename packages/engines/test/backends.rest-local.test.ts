import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResticEngine, openErrorKind } from '@restic-manager/engines';
import type { RepositoryConfig } from '@restic-manager/protocol';
import { freePort, requireTool, startRestServer } from '@restic-manager/testkit';
import { open, roundTrip } from './backends/roundtrip.js';
import { useServerBench } from './backends/server-bench.js';

const missing = [requireTool('restic'), requireTool('rclone'), requireTool('htpasswd')].find((t) => !t.ok);
if (missing && !missing.ok) console.warn(`skipping the REST/local backend tests: ${missing.reason}`);

const PW = 'rest-repo-pw-0c4f';
const USER_PW = 'rest-user-pw-91ab';

describe.skipIf(missing !== undefined)('restic on REST (rclone serve restic) and local paths through the materialiser', () => {
  const env = useServerBench(() => startRestServer({ users: { h1: USER_PW }, privateRepos: true }), 'rm-rest-client-');
  const restRepo = (over: { url?: string; pass?: string; password?: string } = {}): RepositoryConfig => ({
    id: 'r', name: 'r', engine: 'restic', url: over.url ?? env.server.repoUrl('h1'), password: over.password ?? PW,
    credentials: { backend: 'rest', username: 'h1', password: over.pass ?? USER_PW },
  });
  const localRepo = (name: string): RepositoryConfig => ({ id: name, name, engine: 'restic', url: `local:${path.join(env.root, name)}`, password: PW, credentials: { backend: 'local' } });
  const kindOf = async (r: RepositoryConfig): Promise<string> => {
    const res = await new ResticEngine().snapshots((await open(r, env.root)).conn, undefined, { timeoutMs: 60_000 });
    return res.ok ? 'ok' : `${openErrorKind(res.error)}: ${res.error.message}`;
  };

  it('REST: init, backup and a byte-for-byte restore; the REST password never reaches an output line', async () => {
    await roundTrip(restRepo(), env.root, [USER_PW, PW]);
  });

  it('local (local:/path): init, backup and a byte-for-byte restore', async () => {
    await roundTrip(localRepo('local-1'), env.root, [PW]);
  });

  it('open failures: wrong REST password, wrong repository password, unreachable, not initialised', async () => {
    expect(await kindOf(restRepo({ pass: 'not-the-rest-password' }))).toMatch(/^wrong_credentials: /);
    expect(await kindOf(restRepo({ password: 'not-the-repo-password' }))).toMatch(/^wrong_password: /);
    expect(await kindOf(restRepo({ url: `rest:http://127.0.0.1:${await freePort()}/h1/` }))).toMatch(/^unreachable: /);
    expect(await kindOf(localRepo('never-made'))).toMatch(/^not_initialised: /);
    expect(await kindOf(localRepo('local-1'))).toBe('ok');
  });
});
