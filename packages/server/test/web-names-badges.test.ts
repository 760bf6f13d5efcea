import { describe, expect, it } from 'vitest';
import { JobStatusBadge } from '../src/web/components/ui.js';
import { TreeItems } from '../src/web/pages/restore.js';

describe('snapshot browser names', () => {
  it('marks each undecodable byte, says the name is not UTF-8, and keeps the name restic gave as the pick value', async () => {
    const path = '/srv/bad\uFFFD\uFFFD.txt';
    const html = String(await TreeItems({
      hostId: 'h1', snapshotId: 'abcdef12', path: '/srv', offset: 0, limit: 500, hasMore: false,
      entries: [{ name: 'bad\uFFFD\uFFFD.txt', path, type: 'file', size: 11, mtime: null, mode: 420 }],
    }));
    expect(html.match(/<span class="bad-byte" aria-label="undecodable byte">\uFFFD<\/span>/g)).toHaveLength(2);
    expect(html).toContain('(not UTF-8)');
    expect(html).toContain(`value="${path}"`);
  });

  it('shows an ordinary name as it is', async () => {
    const html = String(await TreeItems({
      hostId: 'h1', snapshotId: 'abcdef12', path: '/srv', offset: 0, limit: 500, hasMore: false,
      entries: [{ name: 'ok.txt', path: '/srv/ok.txt', type: 'file', size: 1, mtime: null, mode: 420 }],
    }));
    expect(html).toContain('<span class="tree-name">ok.txt</span>');
    expect(html).not.toContain('not UTF-8');
  });
});

describe('job status badges', () => {
  it('a succeeded job with error kind partial reads "succeeded with warnings" in the warning tone', async () => {
    const html = String(await JobStatusBadge({ status: 'succeeded', errorKind: 'partial' }));
    expect(html).toContain('class="badge warn"');
    expect(html).toContain('>succeeded with warnings<');
    expect(String(await JobStatusBadge({ status: 'succeeded', errorKind: null }))).toContain('>succeeded<');
    expect(String(await JobStatusBadge({ status: 'failed', errorKind: 'partial' }))).toContain('>failed<');
  });
});
