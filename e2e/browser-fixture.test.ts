import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, SessionPool, Teardown, describeInChromium, useUiSuite } from './browser-fixture.js';

/*
 * The browser fixture's own promises (e2e/browser-fixture.ts): browser-side errors fail the test
 * that saw them (failed HTTP responses do not), test-scoped sessions are closed after the test,
 * file-scoped ones are kept, a session can borrow another's sign-in, and teardown runs every step
 * and leaves no browser, server or temp dir behind.
 */

describe('browser fixture teardown', () => {
  it('runs every step, last registered first, and throws all the failures together', async () => {
    const ran: string[] = [];
    const t = new Teardown();
    t.add('first', () => ran.push('first'));
    t.add('second', () => {
      ran.push('second');
      throw new Error('second broke');
    });
    t.add('third', async () => {
      ran.push('third');
      await Promise.reject(new Error('third broke'));
    });
    const failure = await t.run().then(() => null, (e: unknown) => e);
    expect(ran).toEqual(['third', 'second', 'first']);
    expect(failure).toBeInstanceOf(AggregateError);
    expect((failure as AggregateError).message).toBe('teardown: third: third broke; teardown: second: second broke');
    await t.run(); // the steps ran once: nothing left
    expect(ran).toHaveLength(3);
  });
});

describeInChromium('browser fixture sessions', { timeout: 60_000 }, () => {
  const fx = useUiSuite({ signIn: false });

  it('settle() fails on an uncaught exception or a console error, not on a failed response, and closes the test-scoped session', async () => {
    const pool = new SessionPool();
    const s = await pool.open(fx.browser, fx.url);
    await s.page.goto('/login');
    expect((await s.page.request.get('/no-such-page')).status()).toBe(404);
    await s.page.evaluate("fetch('/no-such-page'); setTimeout(() => { throw new Error('boom from the page'); }, 0); console.error('said on the console')");
    await expect.poll(() => s.pageErrors.length).toBe(2);
    await expect(pool.settle()).rejects.toThrow(/browser-side errors during the test:\n {2}(boom from the page\n {2}said on the console|said on the console\n {2}boom from the page)$/);
    expect(s.pageErrors).toEqual([]);
    expect(s.page.isClosed()).toBe(true);
  });

  it('keeps a file-scoped session open across settle(); another session can use its cookies without signing in', async () => {
    const pool = new SessionPool();
    const admin = await pool.open(fx.browser, fx.url, { as: ADMIN, scope: 'file' });
    expect(new URL(admin.page.url()).pathname).toBe('/');
    const dark = await pool.open(fx.browser, fx.url, { as: admin, colorScheme: 'dark', viewport: { width: 390, height: 844 } });
    await dark.page.goto('/');
    expect(new URL(dark.page.url()).pathname).toBe('/');
    expect(await dark.page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")).toBe(true);
    expect(dark.page.viewportSize()).toEqual({ width: 390, height: 844 });
    await pool.settle();
    expect(dark.page.isClosed()).toBe(true);
    expect(admin.page.isClosed()).toBe(false);
    await pool.closeAll();
    expect(admin.page.isClosed()).toBe(true);
  });

  it('a signed-out session lands on the login page', async () => {
    const { page } = await fx.open();
    await page.goto('/');
    expect(new URL(page.url()).pathname).toBe('/login');
  });
});

describeInChromium('browser fixture teardown of a file', { timeout: 60_000 }, () => {
  const left: { browser?: Browser; url?: string; dirs: string[] } = { dirs: [] };
  // runs after the inner describe's teardown
  afterAll(async () => {
    expect(left.browser?.isConnected()).toBe(false);
    await expect(fetch(`${left.url ?? ''}/login`)).rejects.toThrow();
    expect(left.dirs.filter((d) => existsSync(d))).toEqual([]);
  });

  describe('a suite whose test closes nothing', () => {
    const fx = useUiSuite();
    it('leaves a temp dir, a server, Chromium and a session open', async () => {
      left.browser = fx.browser;
      left.url = fx.url;
      left.dirs.push((await fx.tempDir('rm-fixture-')).path, fx.server.config.dataDir);
      expect(left.dirs.every((d) => existsSync(d))).toBe(true);
      expect((await fetch(`${fx.url}/login`)).status).toBe(200);
      expect(new URL(fx.admin.page.url()).pathname).toBe('/');
    });
  });
});
