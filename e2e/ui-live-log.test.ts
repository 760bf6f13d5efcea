import type { Page } from 'playwright-core';
import { beforeAll, expect, it } from 'vitest';
import { seedFleet } from '../bench/lib/ui-seed.js';
import { describeInChromium, useUiSuite } from './browser-fixture.js';

/*
 * The job page's live log client (static/app.js) in Chromium, driven frame by frame through
 * the server's real JobHub and WebSocket stream: append, de-duplication, auto-scroll, pause,
 * jump to end, progress, and the final job.finished that re-renders the summary.
 */

describeInChromium('live job log in Chromium', { timeout: 90_000 }, () => {
  const fx = useUiSuite();
  let jobId = '';

  const lines = (p: Page) => p.locator('.log .line');
  const atBottom = (p: Page) => p.evaluate("(() => { const l = document.querySelector('.log'); return l.scrollHeight - l.scrollTop - l.clientHeight < 24; })()");
  const send = (frame: Record<string, unknown>) => fx.server.services.hub.publish({ job_id: jobId, ...frame } as never);
  const logFrame = (seq: number, payload: string) => send({ type: 'log.stream', seq, ts: new Date().toISOString(), stream: 'stdout', payload });

  beforeAll(async () => {
    await seedFleet(fx.server.db, { hosts: 3, jobs: 20 });
    const running = await fx.server.db.selectFrom('jobs').select('id').where('status', '=', 'running').executeTakeFirstOrThrow();
    jobId = running.id;
    // enough stored lines that the log box scrolls
    const rows = Array.from({ length: 60 }, (_, i) => ({ job_id: jobId, seq: 100 + i, ts: new Date().toISOString(), stream: 'stdout' as const, payload: `stored ${i}` }));
    await fx.server.db.insertInto('job_logs').values(rows).execute();
  });

  it('appends streamed lines once each and follows the end', async () => {
    const { page } = fx.admin;
    await page.goto(`/jobs/${jobId}`);
    await expect.poll(() => page.locator('.live-dot').first().getAttribute('data-state')).toBe('live');
    const before = await lines(page).count();
    logFrame(500, 'streamed line A');
    logFrame(500, 'streamed line A (duplicate seq)');
    await page.locator('.log .line:has-text("streamed line A")').waitFor();
    logFrame(501, 'streamed line B');
    await page.locator('.log .line:has-text("streamed line B")').waitFor();
    expect(await lines(page).count()).toBe(before + 2);
    expect(await atBottom(page)).toBe(true);
  });

  it('stops following when scrolled up; Pause buffers lines, Resume flushes them, Jump to end follows again', async () => {
    const { page } = fx.admin;
    await page.evaluate("document.querySelector('.log').scrollTop = 0");
    logFrame(502, 'while scrolled up');
    await page.locator('.log .line:has-text("while scrolled up")').waitFor();
    expect(await page.evaluate("document.querySelector('.log').scrollTop")).toBe(0);

    await page.click('[data-log-pause]');
    expect(await page.getAttribute('[data-log-pause]', 'aria-pressed')).toBe('true');
    logFrame(503, 'sent while paused');
    await page.waitForTimeout(300);
    expect(await page.locator('.log .line:has-text("sent while paused")').count()).toBe(0);
    await page.click('[data-log-pause]');
    await page.locator('.log .line:has-text("sent while paused")').waitFor();

    await page.click('[data-log-end]');
    expect(await atBottom(page)).toBe(true);
    logFrame(504, 'after jump');
    await page.locator('.log .line:has-text("after jump")').waitFor();
    expect(await atBottom(page)).toBe(true);
    // ordered by seq
    const seqs = (await page.evaluate("[...document.querySelectorAll('.log .line')].map((e) => Number(e.dataset.seq))")) as number[];
    expect(seqs.length).toBeGreaterThan(60);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('job.progress moves the bar and the figures', async () => {
    const { page } = fx.admin;
    send({ type: 'job.progress', seq: 505, percent_done: 0.75, files_done: 750, total_files: 1000, bytes_done: 3 * 1024 ** 3, total_bytes: 4 * 1024 ** 3, eta_seconds: 65, throughput_bps: 50 * 1024 ** 2, current_files: [] });
    await expect.poll(() => page.textContent('[data-progress="percent"]')).toBe('75.0%');
    expect(await page.textContent('[data-progress="eta"]')).toBe('1m 5s');
    expect(await page.textContent('[data-progress="throughput"]')).toBe('50.0 MiB/s');
    expect(await page.getAttribute('[data-progress-bar]', 'style')).toContain('75%');
  });

  it('job.finished ends the stream, fetches the last lines and re-renders the summary', async () => {
    const { page } = fx.admin;
    const at = new Date().toISOString();
    await fx.server.db.insertInto('job_logs').values({ job_id: jobId, seq: 506, ts: at, stream: 'stdout', payload: 'written but never streamed' }).execute();
    await fx.server.db.updateTable('jobs').set({ status: 'succeeded', finished_at: at, exit_code: 0, stats: JSON.stringify({ files_new: 7, data_added: 2048 }) }).where('id', '=', jobId).execute();
    send({ type: 'job.finished', seq: 507, status: 'succeeded', exit_code: 0, stats: { files_new: 7 }, error: null, error_kind: null, finished_at: at });
    await expect.poll(() => page.locator('#job-summary').getAttribute('data-status')).toBe('succeeded');
    expect(await page.textContent('.live-dot')).toContain('Finished');
    await page.locator('.log .line:has-text("written but never streamed")').waitFor();
    expect(await page.textContent('#job-stats')).toContain('New files');
    expect(fx.admin.pageErrors).toEqual([]);
  });
});
