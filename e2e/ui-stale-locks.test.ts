import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_PASSWORD, eventually } from './agent-harness.js';
import { describeInChromium, shot, useBrowser } from './browser-fixture.js';
import type { Session } from './browser-fixture.js';
import type { LocalStack } from './local-stack.js';
import { LOCAL_REPO_PASSWORD, localStackTools, startLocalStack } from './local-stack.js';
import type { HeldLock } from './restic-locks.js';
import { holdLock, leaveStaleLock, stop } from './restic-locks.js';

/*
 * Issue 22 in Chromium: the host's Repo tab lists a lock left by a killed restic as stale and a
 * lock held by a running restic as live, each with holder (user@host), PID and age; the
 * operator's "Remove stale locks" runs an unlock job (HX-Redirect to the job page) and afterwards
 * the tab lists the live lock only. Real server, real agent, real restic on a local repository.
 */

describeInChromium('web UI in Chromium: stale locks on the Repo tab', { timeout: 120_000, missing: localStackTools.map((t) => `${t} is not installed`) }, () => {
  let s: LocalStack;
  const fx = useBrowser(() => s.server.url);
  let admin: Session;
  let live: HeldLock | null = null;
  let stale: { pid: number; id: string };
  const me = `${os.userInfo().username}@${os.hostname()}`;

  beforeAll(async () => {
    s = await startLocalStack();
    admin = await fx.open({ as: { username: 'admin', password: ADMIN_PASSWORD }, scope: 'file' });
    const src = path.join(s.tmp.path, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.txt'), 'ui stale locks\n');
    expect((await s.waitJob(await s.runJob('backup', { paths: [src] }))).status).toBe('succeeded');
    // the job's lock listing follows job.finished: let it land before any lock is made
    await eventually(async () => (await s.api.req('GET', `/api/hosts/${s.hostId}/repo`)).body.locks_listed_at, 30_000, "the first job's lock listing");
    stale = await leaveStaleLock(s.repoDir, LOCAL_REPO_PASSWORD);
    live = await holdLock(s.repoDir, LOCAL_REPO_PASSWORD);
    // the agent lists the locks after every job
    expect((await s.waitJob(await s.runJob('snapshots'))).status).toBe('succeeded');
  }, 90_000);

  afterAll(async () => {
    if (live) await stop(live.proc, 'SIGKILL');
    await s?.close();
  });

  it('lists the stale and the live lock with holder, PID, age and state', async () => {
    const { page } = admin;
    await expect.poll(async () => {
      await page.goto(`/hosts/${s.hostId}/repo`);
      return page.locator('#locks tbody tr').count();
    }, { timeout: 20_000 }).toBe(2);
    const staleRow = page.locator(`#locks tr[data-lock="${stale.id}"]`);
    expect(await staleRow.getAttribute('data-stale')).toBe('true');
    const staleText = (await staleRow.textContent()) ?? '';
    expect(staleText).toContain(me);
    expect(staleText).toContain(String(stale.pid));
    expect(staleText).toMatch(/\d+ s/);
    expect(staleText).toContain('stale');
    const liveRow = page.locator(`#locks tr[data-lock="${live!.id}"]`);
    expect(await liveRow.getAttribute('data-stale')).toBe('false');
    expect(await liveRow.textContent()).toContain('live');
    expect(await liveRow.textContent()).toContain(String(live!.pid));
    // a live lock is held: the repository is locked, not merely "stale"
    expect(await page.locator('#locks-card .card-head').textContent()).toContain('locked');
    await shot(page, 'repo-stale-locks');
  });

  it('Remove stale locks runs an unlock job; afterwards only the live lock is listed', async () => {
    const { page } = admin;
    page.once('dialog', (d) => void d.accept());
    await page.click('#remove-stale-locks');
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.locator('#job-summary').getAttribute('data-status'), { timeout: 30_000 }).toBe('succeeded');
    expect(page.url()).toMatch(/\/jobs\//);
    expect(fs.readdirSync(path.join(s.repoDir, 'locks'))).toEqual([live!.id]);
    await expect.poll(async () => {
      await page.goto(`/hosts/${s.hostId}/repo`);
      return page.locator('#locks tbody tr').evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-lock') ?? ''}:${r.getAttribute('data-stale') ?? ''}`));
    }, { timeout: 20_000 }).toEqual([`${live!.id}:false`]);
    expect(live!.proc.exitCode).toBeNull();
  });
});
