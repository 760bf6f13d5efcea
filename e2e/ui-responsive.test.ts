import type { Page } from 'playwright-core';
import { beforeAll, expect, it } from 'vitest';
import { seedFleet } from '../bench/lib/ui-seed.js';
import { seedTrends } from '../bench/lib/trend-seed.js';
import { describeInChromium, shot, shotOf, useUiSuite } from './browser-fixture.js';

/*
 * Every main page at a phone width (390 px) and a desktop width (1440 px) in real Chromium:
 * no horizontal overflow of the document, and a visible keyboard focus ring on the page's
 * primary control. Data is seeded like the tour (seedFleet, seedTrends) plus a vault target,
 * a notification channel and a database-backed schedule through the server's services.
 */

const RECIPIENT = 'age1d6e0x5hfamz0hztz5qscux3m87f7lhd7kgalsgsr26k84mgt0e7s3ukm54';

interface PageCase {
  name: string;
  path: string;
  /** The control that must show a focus ring when reached by keyboard. */
  focus: string;
}

/** In the page (a string: the tests' tsconfig has no DOM lib): scrollWidth, innerWidth and the first elements sticking out on the right outside any scroller. */
const OVERFLOW_JS = `(() => {
  const inner = window.innerWidth;
  const culprits = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right <= inner + 1 || culprits.length >= 5) continue;
    let p = el.parentElement, clipped = false;
    while (p && p !== document.body) {
      const ox = getComputedStyle(p).overflowX;
      if (ox === 'auto' || ox === 'scroll' || ox === 'hidden') { clipped = true; break; }
      p = p.parentElement;
    }
    if (!clipped) culprits.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + String(el.className).split(' ').join('.') + ' right=' + Math.round(r.right));
  }
  return { scroll: document.documentElement.scrollWidth, inner, culprits };
})()`;

const FOCUS_JS = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return { visible: false, outline: 'nothing focused' };
  const cs = getComputedStyle(el);
  const ring = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0;
  return { visible: el.matches(':focus-visible') && ring, outline: cs.outlineStyle + ' ' + cs.outlineWidth };
})()`;

async function overflow(page: Page): Promise<{ scroll: number; inner: number; culprits: string[] }> {
  return page.evaluate<{ scroll: number; inner: number; culprits: string[] }>(OVERFLOW_JS);
}

async function focusRing(page: Page, selector: string): Promise<{ visible: boolean; outline: string }> {
  // a key press first, so Chromium treats the following focus as keyboard focus (:focus-visible)
  await page.keyboard.press('Shift');
  await page.locator(selector).first().focus();
  return page.evaluate<{ visible: boolean; outline: string }>(FOCUS_JS);
}

describeInChromium('every page fits a phone and a 27" screen', { timeout: 180_000 }, () => {
  const fx = useUiSuite();
  let cases: PageCase[] = [];

  beforeAll(async () => {
    const { hostIds, jobIds } = await seedFleet(fx.server.db, { hosts: 8, jobs: 120, snapshotsPerHost: 12, alerts: 6 });
    const host = await fx.server.db.selectFrom('hosts').select(['id']).where('enrolled_at', 'is not', null).where('id', 'in', hostIds).executeTakeFirstOrThrow();
    const hostId = host.id;
    await seedTrends(fx.server.db, hostId, { days: 10, hourlyDays: 2 });
    const svc = fx.server.services;
    await svc.vaults.set({ kind: 'system' }, hostId, { storage: { type: 'local', path: '/srv/vault' }, age_recipient: RECIPIENT });
    const snap = await fx.server.db.selectFrom('snapshots').select('id').where('host_id', '=', hostId).executeTakeFirstOrThrow();
    const running = await fx.server.db.selectFrom('jobs').select('id').where('status', '=', 'running').executeTakeFirst();
    const jobId = running?.id ?? jobIds[0] ?? '';
    cases = [
      { name: 'dashboard', path: '/', focus: '#f-status' },
      { name: 'add host', path: '/hosts/new', focus: '#f-name' },
      { name: 'host snapshots (vault card)', path: `/hosts/${hostId}`, focus: '#run-now' },
      { name: 'host jobs', path: `/hosts/${hostId}/jobs`, focus: '#tab-jobs' },
      { name: 'host repo (charts)', path: `/hosts/${hostId}/repo`, focus: '#tab-repo' },
      { name: 'schedules editor', path: `/hosts/${hostId}/schedules`, focus: '#f-kind' },
      { name: 'host settings', path: `/hosts/${hostId}/settings`, focus: '#tab-settings' },
      { name: 'job', path: `/jobs/${jobId}`, focus: 'main a, main button' },
      { name: 'jobs', path: '/jobs', focus: 'main select' },
      { name: 'restore wizard', path: `/hosts/${hostId}/restore?snapshot=${snap.id}`, focus: 'main button[type=submit]' },
      { name: 'repos', path: '/repos', focus: 'main table a' },
      { name: 'alerts', path: '/alerts', focus: 'main button, main a' },
      { name: 'audit', path: '/audit', focus: 'main input, main select' },
      { name: 'settings', path: '/settings', focus: '#f-username' },
    ];
  });

  it('the pages added today in the dark theme (screenshots)', async () => {
    const { page: p } = await fx.open({ colorScheme: 'dark', as: fx.admin });
    for (const [name, c] of [['host-repo-dark', 'host repo (charts)'], ['host-dark', 'host snapshots (vault card)']] as const) {
      const found = cases.find((x) => x.name === c);
      expect(found).toBeDefined();
      expect((await p.goto(found?.path ?? '/'))?.status()).toBe(200);
      await shot(p, name, name === 'host-repo-dark');
    }
  });

  for (const width of [390, 1440]) {
    it(`no horizontal overflow and a visible focus ring at ${width} px`, async () => {
      const viewport = { width, height: width < 500 ? 844 : 900 };
      const { page: anon } = await fx.open({ viewport });
      await anon.goto('/login');
      const login = await overflow(anon);
      expect(login.scroll, `login: ${login.culprits.join(', ')}`).toBeLessThanOrEqual(login.inner);
      expect((await focusRing(anon, 'button[type=submit]')).visible).toBe(true);
      const { page, pageErrors: errors } = await fx.open({ viewport, as: fx.admin });
      const failures: string[] = [];
      for (const c of cases) {
        const r = await page.goto(c.path);
        expect(r?.status(), c.name).toBe(200);
        // open the disclosures so their content is measured too
        await page.evaluate("document.querySelectorAll('main details').forEach((d) => { d.open = true; })");
        const o = await overflow(page);
        if (o.scroll > o.inner) failures.push(`${c.name} (${c.path}): scrollWidth ${o.scroll} > ${o.inner}: ${o.culprits.join(', ')}`);
        const f = await focusRing(page, c.focus);
        if (!f.visible) failures.push(`${c.name}: no visible focus on ${c.focus} (outline ${f.outline})`);
        if (c.name.startsWith('host snapshots')) {
          if (width === 390) await shot(page, 'host-phone', false);
          else await shotOf(page.locator('#vault'), 'host-vault');
        }
      }
      expect(failures).toEqual([]);
      expect(errors).toEqual([]);
    });
  }
});
