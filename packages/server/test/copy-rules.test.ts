import { describe, expect, it } from 'vitest';
import { copyGraceMs, copyState, isOffsite, locationHost, worstState } from '../src/services/copy-rules.js';

/* The pure rules behind copy policies (docs/copies.md): off-site detection, the grace and the state. */
const repo = (url: string, backend: string | null) => ({ url, backend });
const HOUR = 3_600_000;

describe('copy rules', () => {
  it.each([
    ['rest:https://user@nas.example.net:8000/host-a/', 'rest', 'nas.example.net:8000'],
    ['s3:https://s3.eu-west-1.amazonaws.com/bucket/x', 's3', 's3.eu-west-1.amazonaws.com'],
    ['s3:s3.amazonaws.com/bucket', 's3', 's3.amazonaws.com'],
    ['sftp:backup@vault.example.org:/srv/restic', 'sftp', 'vault.example.org'],
    ['sftp://backup@vault.example.org:2222//srv/restic', 'sftp', 'vault.example.org'],
    ['b2:my-bucket:hosts/a', 'b2', 'my-bucket'],
    ['rclone:gdrive:restic', 'rclone', 'gdrive'],
    ['/srv/restic/a', 'local', null],
  ])('the place of %s is %s', (url, backend, place) => {
    expect(locationHost(url, backend)).toBe(place);
  });

  it('off-site: another backend, or the same backend at another place; two local paths never', () => {
    expect(isOffsite(repo('/srv/a', 'local'), repo('rest:http://nas:8000/a/', 'rest'))).toBe(true);
    expect(isOffsite(repo('rest:http://nas:8000/a/', 'rest'), repo('rest:http://nas:8000/b/', 'rest'))).toBe(false);
    expect(isOffsite(repo('rest:http://nas:8000/a/', 'rest'), repo('rest:https://offsite.example.com/a/', 'rest'))).toBe(true);
    expect(isOffsite(repo('/srv/a', 'local'), repo('/mnt/usb/a', 'local'))).toBe(false);
    expect(isOffsite(repo('b2:one:a', 'b2'), repo('b2:two:a', 'b2'))).toBe(true);
  });

  it('the grace is twice the longest interval, else 24 h', () => {
    expect(copyGraceMs([])).toBe(24 * HOUR);
    expect(copyGraceMs([HOUR, 6 * HOUR, 0])).toBe(12 * HOUR);
  });

  it('states: failing beats everything; never without a success; behind past the grace', () => {
    const now = Date.parse('2026-01-02T12:00:00Z');
    expect(copyState(undefined, null, now, HOUR)).toBe('never');
    expect(copyState({ last_copy_status: 'failed', last_success_at: '2026-01-01T00:00:00Z' }, null, now, HOUR)).toBe('failing');
    expect(copyState({ last_copy_status: 'succeeded', last_success_at: '2026-01-02T11:00:00Z' }, null, now, HOUR)).toBe('up_to_date');
    expect(copyState({ last_copy_status: 'succeeded', last_success_at: '2026-01-02T10:00:00Z' }, '2026-01-02T11:30:00Z', now, HOUR)).toBe('up_to_date');
    expect(copyState({ last_copy_status: 'succeeded', last_success_at: '2026-01-02T09:00:00Z' }, '2026-01-02T10:30:00Z', now, HOUR)).toBe('behind');
    expect(copyState({ last_copy_status: 'cancelled', last_success_at: '2026-01-02T11:00:00Z' }, null, now, HOUR)).toBe('up_to_date');
    expect(worstState([])).toBe('none');
    expect(worstState(['up_to_date', 'never', 'behind'])).toBe('behind');
    expect(worstState(['behind', 'failing'])).toBe('failing');
  });
});
