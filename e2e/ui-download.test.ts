import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { beforeAll, expect, it } from 'vitest';
import type { RestoreStack, StackAgent } from './restore-stack.js';
import { ADMIN_PASSWORD, eventually, restoreStackTools, startRestoreStack } from './restore-stack.js';
import { describeInChromium, shot, useBrowser } from './browser-fixture.js';
import { tree } from './restore-helpers.js';

/*
 * Download from the snapshot browser in Chromium, against the real server, a real agent and real
 * restic: a file's "download" link saves the file itself; a folder's ".tar" link saves an archive
 * that `tar -x` turns back into the folder; a download over the limit shows why on a page.
 */

const execFileP = promisify(execFile);
const missing = restoreStackTools.map((t) => `'${t}' is not on PATH`);

describeInChromium('download from the snapshot browser in Chromium', { timeout: 120_000, missing }, () => {
  let s: RestoreStack;
  let a: StackAgent;
  let src: string;
  let snap: string;
  const fx = useBrowser(() => s.server.url);

  beforeAll(async () => {
    s = await startRestoreStack(['dl-ui']);
    fx.defer('close the restore stack', () => s.close());
    a = s.agents[0]!;
    src = path.join(s.tmp.path, 'data');
    fs.mkdirSync(path.join(src, 'site/assets'), { recursive: true });
    fs.writeFileSync(path.join(src, 'site/index.html'), '<h1>downloaded from the snapshot</h1>\n');
    fs.writeFileSync(path.join(src, 'site/assets/logo.bin'), randomBytes(300_000));
    const job = await s.waitJob(await s.runJob(a.hostId, 'backup', { paths: [src] }));
    expect(job.status).toBe('succeeded');
    snap = await eventually(async () => (await s.api.req('GET', `/api/hosts/${a.hostId}/snapshots`)).body.items?.[0]?.id as string | undefined, 20_000, 'the snapshot listed');
  }, 90_000);

  /** The restore wizard of the snapshot with the tree expanded down to `dir`. */
  const openAt = async (page: Page, dir: string): Promise<void> => {
    await page.goto(`/hosts/${a.hostId}/restore?snapshot=${snap}`);
    await page.locator('#restore-tree > li.tree-dir').first().waitFor();
    const parts = dir.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const item = page.locator(`#restore-tree li.tree-dir:has(> input[value="/${parts.slice(0, i).join('/')}"])`);
      await item.locator('> details > summary').click({ position: { x: 5, y: 5 } });
      await item.locator('> details > ul > li:not(.muted)').first().waitFor();
    }
  };

  it('a file: its download link saves the file itself', async () => {
    const { page, pageErrors } = await fx.open({ as: { username: 'admin', password: ADMIN_PASSWORD } });
    await openAt(page, path.join(src, 'site'));
    const file = path.join(src, 'site/index.html');
    await shot(page, 'download-snapshot-browser');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByLabel(`Download ${file}`, { exact: true }).click()]);
    expect(download.suggestedFilename()).toBe('index.html');
    const saved = path.join(s.tmp.path, 'ui-index.html');
    await download.saveAs(saved);
    expect(fs.readFileSync(saved, 'utf8')).toBe('<h1>downloaded from the snapshot</h1>\n');
    expect(pageErrors).toEqual([]);
  });

  it('a folder: ".tar" saves an archive that tar -x turns back into the folder', async () => {
    const { page, pageErrors } = await fx.open({ as: { username: 'admin', password: ADMIN_PASSWORD } });
    await openAt(page, src);
    const dir = path.join(src, 'site');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByLabel(`Download ${dir} as tar`).click()]);
    expect(download.suggestedFilename()).toBe('site.tar');
    const saved = path.join(s.tmp.path, 'ui-site.tar');
    await download.saveAs(saved);
    const out = path.join(s.tmp.path, 'ui-untar');
    fs.mkdirSync(out);
    await execFileP('tar', ['-x', '-f', saved, '-C', out]);
    expect(tree(path.join(out, dir.slice(1)))).toEqual(tree(dir));
    expect(pageErrors).toEqual([]);
  });

  it('a folder over the limit: a page says how large it is and what the limit is', async () => {
    const limit = s.server.services.downloads.maxBytes;
    s.server.services.downloads.maxBytes = 1000;
    try {
      const { page, pageErrors } = await fx.open({ as: { username: 'admin', password: ADMIN_PASSWORD } });
      await openAt(page, src);
      await Promise.all([page.waitForURL(/\/snapshots\/[0-9a-f]+\/download\?/), page.getByLabel(`Download ${path.join(src, 'site')} as zip`).click()]);
      const text = await page.locator('#download-refused').innerText();
      expect(text).toMatch(/^this download holds 293\.0 KiB \(300038 bytes\), over this server's download limit of 1000 bytes \(RM_DOWNLOAD_MAX_BYTES\)/);
      await shot(page, 'download-refused');
      await Promise.all([page.waitForURL(/\/restore\?snapshot=/), page.getByRole('link', { name: 'Back to the snapshot' }).click()]);
      expect(pageErrors).toEqual([]);
    } finally {
      s.server.services.downloads.maxBytes = limit;
    }
  });
});
