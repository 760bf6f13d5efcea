import { describe, expect, it } from 'vitest';
import { enrolledAgent, useHarness } from './helpers/harness.js';

/*
 * Issue 15: one repository may serve several hosts. A forget run for one of them then touches
 * only that host's snapshots (`args.host` → restic `--host`); on a repository of its own a
 * forget is unchanged.
 */
describe('forget on a shared repository', () => {
  const h = useHarness();

  it('carries the host when the repository serves several hosts, and not otherwise', async () => {
    const a = await enrolledAgent(h, 'share-a', { url: '/srv/shared-repo', password: 'shared-repo-password-1', append_only: false });
    const b = await enrolledAgent(h, 'share-b', { url: '/srv/b-own-repo', password: 'b-own-repo-password-1', append_only: false });
    await a.agent.connect();
    await b.agent.connect();
    const forget = async (agent: typeof a.agent, hostId: string) => {
      const r = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'forget', args: { policy: { keep_last: 3 } } });
      expect(r.status, r.text).toBe(202);
      return (await agent.next('command.run')) as { args: Record<string, unknown> };
    };
    expect((await forget(a.agent, a.hostId)).args).not.toHaveProperty('host');
    const shared = (await h.admin.req('GET', `/api/hosts/${a.hostId}`)).body.repo_id as string;
    const link = await h.admin.req('PUT', `/api/hosts/${b.hostId}/repositories/${shared}`, { primary: false });
    expect(link.status, link.text).toBe(200);
    expect((await forget(a.agent, a.hostId)).args).toMatchObject({ host: 'share-a', policy: { keep_last: 3 } });
    const onShared = await h.admin.req('POST', `/api/hosts/${b.hostId}/jobs`, { kind: 'forget', args: { policy: { keep_last: 3 } }, repository_id: shared });
    expect(onShared.status, onShared.text).toBe(202);
    expect(((await b.agent.next('command.run')) as { args: Record<string, unknown> }).args).toMatchObject({ host: 'share-b' });
    await a.agent.close();
    await b.agent.close();
  });
});
