import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from './local-stack.js';
import { ADMIN_PASSWORD, localStackTools, startLocalStack } from './local-stack.js';
import { describeInChromium, useBrowser } from './browser-fixture.js';

/*
 * Bandwidth limits on run-now (spec §14.2): the API body's limits travel in command.run to the
 * real agent, which hands them to real restic as --limit-upload / --limit-download; a bad value
 * is a 400 naming the field; the host page's "Run now" sets them from a small disclosure.
 */

if (localStackTools.length) console.warn(`skipping run-now limit e2e: missing ${localStackTools.join(', ')}`);

describe.skipIf(localStackTools.length > 0)('run-now bandwidth limits through the real agent and restic', { timeout: 120_000 }, () => {
  let s: LocalStack;
  let src: string;
  beforeAll(async () => {
    s = await startLocalStack();
    src = path.join(s.tmp.path, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.txt'), 'limits\n'.repeat(1000));
  });
  afterAll(async () => s?.close());

  const backupArgv = (): string[] => s.argv().filter((l) => / backup /.test(` ${l} `));

  it('passes the API request\'s limits to restic as --limit-upload / --limit-download', async () => {
    const job = await s.waitJob(await s.runJob('backup', { paths: [src], limit_upload_kbps: 123, limit_download_kbps: 456 }));
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    const argv = backupArgv();
    expect(argv).toHaveLength(1);
    expect(argv[0]).toMatch(/--limit-upload 123(\s|$)/);
    expect(argv[0]).toMatch(/--limit-download 456(\s|$)/);
    expect(argv[0]).toContain(src);

    const plain = await s.waitJob(await s.runJob('backup', { paths: [src] }));
    expect(plain.status).toBe('succeeded');
    expect(backupArgv()[1]).not.toContain('--limit-');
  });

  it('refuses a bad limit with 400 and a field error, and starts nothing', async () => {
    // Count backups only: the previous test's post-backup snapshots/stats calls may still be starting.
    const before = backupArgv().length;
    for (const [field, value, msg] of [
      ['limit_upload_kbps', 0, /at least 1 KiB\/s/],
      ['limit_download_kbps', 'fast', /whole number of KiB\/s/],
      ['limit_upload_kbps', 2.5, /whole number of KiB\/s/],
    ] as const) {
      const r = await s.api.req('POST', `/api/hosts/${s.hostId}/jobs`, { kind: 'backup', args: { paths: [src], [field]: value } });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.fields[`args.${field}`]).toMatch(msg);
      expect(r.body.error.message).toContain(`args.${field}`);
    }
    expect((await s.api.req('GET', `/api/jobs?host_id=${s.hostId}&status=queued`)).body.total).toBe(0);
    expect(backupArgv().length).toBe(before);
  });

  describeInChromium('host page "Run now" in Chromium', {}, () => {
    const fx = useBrowser(() => s.server.url);

    it('sets the limits from the Bandwidth limits disclosure; a bad value opens it and names the field', async () => {
      const { page, pageErrors } = await fx.open({ as: { username: 'admin', password: ADMIN_PASSWORD } });
      await page.goto(`/hosts/${s.hostId}`);
      expect(await page.isVisible('#f-args\\.limit_upload_kbps')).toBe(false);
      await page.fill('#f-args\\.paths', src);
      await page.click('#run-limits summary');
      await page.fill('#f-args\\.limit_upload_kbps', 'lots');
      await page.click('#run-now');
      await expect.poll(() => page.textContent('[data-field-error="args.limit_upload_kbps"]')).toContain('whole number of KiB/s');
      expect(await page.getAttribute('#f-args\\.limit_upload_kbps', 'aria-invalid')).toBe('true');

      // reload: the disclosure starts closed; a server-side error must open it to show the message
      await page.goto(`/hosts/${s.hostId}`);
      await page.fill('#f-args\\.paths', src);
      await page.evaluate("document.getElementById('f-args.limit_download_kbps').value = '0'");
      await page.click('#run-now');
      await expect.poll(() => page.isVisible('[data-field-error="args.limit_download_kbps"]')).toBe(true);
      expect(await page.getAttribute('#run-limits', 'open')).not.toBeNull();

      await page.fill('#f-args\\.limit_download_kbps', '');
      await page.fill('#f-args\\.limit_upload_kbps', '77');
      const before = backupArgv().length;
      await Promise.all([page.waitForURL(/\/jobs\/[^/]+$/), page.click('#run-now')]);
      const jobId = new URL(page.url()).pathname.split('/').pop() ?? '';
      expect((await s.waitJob(jobId)).status).toBe('succeeded');
      const argv = backupArgv().slice(before);
      expect(argv).toHaveLength(1);
      expect(argv[0]).toMatch(/--limit-upload 77(\s|$)/);
      expect(argv[0]).not.toContain('--limit-download');
      expect(pageErrors).toEqual([]);
    });
  });
});
