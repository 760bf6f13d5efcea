import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Cron } from 'croner';
import { cronZone, localTimeZone, zoneFromLink } from '../src/timezone.js';

let dir = '';
afterEach(() => {
  vi.restoreAllMocks();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = '';
});
const etc = (): string => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-tz-')));

describe('the host time zone without Intl (idle RSS, spec §4.2)', () => {
  it('reads the zone from the /etc/localtime symlink and never calls Intl', () => {
    const d = etc();
    fs.symlinkSync('/usr/share/zoneinfo/America/Argentina/Buenos_Aires', path.join(d, 'localtime'));
    fs.writeFileSync(path.join(d, 'timezone'), 'Europe/Berlin\n'); // the link wins
    const spy = vi.spyOn(Intl, 'DateTimeFormat');
    expect(localTimeZone({}, d)).toBe('America/Argentina/Buenos_Aires');
    expect(spy).not.toHaveBeenCalled();
  });

  it('falls back to /etc/timezone when localtime is a copied file', () => {
    const d = etc();
    fs.writeFileSync(path.join(d, 'localtime'), 'TZif2 not a link');
    fs.writeFileSync(path.join(d, 'timezone'), 'Europe/Berlin\n');
    const spy = vi.spyOn(Intl, 'DateTimeFormat');
    expect(localTimeZone({}, d)).toBe('Europe/Berlin');
    expect(spy).not.toHaveBeenCalled();
  });

  it('asks Intl when TZ is set or no file names a zone', () => {
    const d = etc();
    fs.symlinkSync('/usr/share/zoneinfo/Europe/Berlin', path.join(d, 'localtime'));
    const intl = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(localTimeZone({ TZ: 'Asia/Tokyo' }, d)).toBe(intl); // V8 follows TZ, which Intl reports
    expect(localTimeZone({}, path.join(d, 'missing'))).toBe(intl);
    fs.writeFileSync(path.join(d, 'timezone'), '../../etc/passwd');
    fs.rmSync(path.join(d, 'localtime'));
    expect(localTimeZone({}, d)).toBe(intl);
  });

  it('parses zoneinfo link targets, including posix/ and right/ trees, and rejects others', () => {
    expect(zoneFromLink('../usr/share/zoneinfo/Etc/UTC')).toBe('Etc/UTC');
    expect(zoneFromLink('/usr/share/zoneinfo/posix/Europe/Paris')).toBe('Europe/Paris');
    expect(zoneFromLink('/usr/share/zoneinfo/right/UTC')).toBe('UTC');
    expect(zoneFromLink('/var/db/timezone/tz/2024a.1.0/zoneinfo/Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(zoneFromLink('/etc/some-file')).toBeNull();
    expect(zoneFromLink('/usr/share/zoneinfo/')).toBeNull();
  });
});

describe('cron zones', () => {
  it('uses local time for the host zone, a UTC offset for UTC aliases and Intl only for foreign zones', () => {
    const local = (): string => 'Europe/Berlin';
    expect(cronZone(undefined, local)).toEqual({});
    expect(cronZone('Europe/Berlin', local)).toEqual({});
    expect(cronZone('Etc/UTC', local)).toEqual({ utcOffset: 0 });
    expect(cronZone('UTC', local)).toEqual({ utcOffset: 0 });
    expect(cronZone('America/New_York', local)).toEqual({ timezone: 'America/New_York' });
  });

  it('a UTC schedule fires at the same instants with utcOffset 0 as with timezone UTC', () => {
    const from = new Date('2026-03-28T22:30:00Z'); // spans a European DST switch
    const a = new Cron('0 30 1 * * *', { paused: true, ...cronZone('Etc/UTC', () => 'Europe/Berlin') }).nextRuns(4, from);
    const b = new Cron('0 30 1 * * *', { paused: true, timezone: 'Etc/UTC' }).nextRuns(4, from);
    expect(a.map((d) => d.toISOString())).toEqual(b.map((d) => d.toISOString()));
    expect(a[0]!.toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });
});
