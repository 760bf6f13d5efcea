import { describe, expect, it } from 'vitest';
import { BackupArgs, ScheduleInput, ScheduleSpec, hasLabelSelector, labelFilter, parseStopSelector } from '@restic-manager/protocol';

/* stop_containers entries: a container name or id, or label:<key>[=<value>] (issue 18). */

const issue = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }): { path: string; message: string } | null => {
  const i = r.error?.issues[0];
  return i ? { path: i.path.map(String).join('.'), message: i.message } : null;
};

describe('stop_containers entries', () => {
  it('parses names, label:<key> and label:<key>=<value>', () => {
    expect(parseStopSelector('shop-db')).toEqual({ ok: true, value: { kind: 'name', name: 'shop-db' } });
    expect(parseStopSelector('3f9a0c1d2b4e')).toEqual({ ok: true, value: { kind: 'name', name: '3f9a0c1d2b4e' } });
    expect(parseStopSelector('label:backup.stop')).toEqual({ ok: true, value: { kind: 'label', key: 'backup.stop', value: null } });
    expect(parseStopSelector('label:com.docker.compose.project=shop')).toEqual({ ok: true, value: { kind: 'label', key: 'com.docker.compose.project', value: 'shop' } });
    expect(parseStopSelector('label:tier=db:primary/eu@2+x')).toEqual({ ok: true, value: { kind: 'label', key: 'tier', value: 'db:primary/eu@2+x' } });
    expect(labelFilter({ key: 'a', value: null })).toBe('a');
    expect(labelFilter({ key: 'a', value: 'b' })).toBe('a=b');
    expect(hasLabelSelector(['web', 'label:x'])).toBe(true);
    expect(hasLabelSelector(['web'])).toBe(false);
    expect(hasLabelSelector(undefined)).toBe(false);
  });

  it('BackupArgs, ScheduleSpec and ScheduleInput accept them', () => {
    const list = ['web', 'label:backup.stop', 'label:com.docker.compose.project=shop'];
    expect(BackupArgs.safeParse({ paths: ['/srv'], stop_containers: list }).success).toBe(true);
    expect(ScheduleSpec.safeParse({ id: 's', kind: 'backup', cron_expr: '0 3 * * *', enabled: true, stop_containers: list }).success).toBe(true);
    expect(ScheduleInput.safeParse({ kind: 'backup', cron_expr: '0 3 * * *', paths: ['/srv'], stop_containers: list }).success).toBe(true);
  });

  it('refuses hostile and malformed entries with an error naming the field and what is wrong', () => {
    const cases: [string, string][] = [
      ['', 'empty: a container name or id, or label:<key>[=<value>]'],
      ['-rm', 'a container name or id (A-Z a-z 0-9 _ . -, not starting with _ . -), or label:<key>[=<value>]'],
      ['web;reboot', 'a container name or id (A-Z a-z 0-9 _ . -, not starting with _ . -), or label:<key>[=<value>]'],
      ['Label:x', 'a container name or id (A-Z a-z 0-9 _ . -, not starting with _ . -), or label:<key>[=<value>]'],
      ['label:', 'label:<key>[=<value>] needs a key'],
      ['label:=shop', 'label:<key>[=<value>] needs a key'],
      ['label:app=', 'label:app= needs a value (or write label:app for any value)'],
      ['label:-x', 'a label key is A-Z a-z 0-9 . _ - (starting with a letter or digit)'],
      ['label:a b', 'a label key is A-Z a-z 0-9 . _ - (starting with a letter or digit)'],
      ['label:a\nb', 'a label key is A-Z a-z 0-9 . _ - (starting with a letter or digit)'],
      ['label:app\u0000', 'a label key is A-Z a-z 0-9 . _ - (starting with a letter or digit)'],
      ['label:ap\u0440', 'a label key is A-Z a-z 0-9 . _ - (starting with a letter or digit)'], // Cyrillic "р"
      ['label:a"}]', 'a label key is A-Z a-z 0-9 . _ - (starting with a letter or digit)'],
      ['label:app=a=b', 'a label value is A-Z a-z 0-9 . _ - : / @ + (no = , spaces or quotes)'],
      ['label:app=a,b', 'a label value is A-Z a-z 0-9 . _ - : / @ + (no = , spaces or quotes)'],
      ['label:app=$(reboot)', 'a label value is A-Z a-z 0-9 . _ - : / @ + (no = , spaces or quotes)'],
      ['label:app=x y', 'a label value is A-Z a-z 0-9 . _ - : / @ + (no = , spaces or quotes)'],
      ['label:app=x\r\nwarning: forged', 'a label value is A-Z a-z 0-9 . _ - : / @ + (no = , spaces or quotes)'],
      [`label:${'k'.repeat(129)}`, 'a label key is at most 128 characters'],
      [`label:k=${'v'.repeat(129)}`, 'a label value is at most 128 characters'],
      ['w'.repeat(129), 'a container name or id is at most 128 characters'],
    ];
    for (const [entry, message] of cases) {
      expect(issue(BackupArgs.safeParse({ paths: ['/srv'], stop_containers: ['web', entry] })), JSON.stringify(entry)).toEqual({ path: 'stop_containers.1', message });
      expect(issue(ScheduleInput.safeParse({ kind: 'backup', cron_expr: '0 3 * * *', stop_containers: [entry] })), JSON.stringify(entry)).toEqual({ path: 'stop_containers.0', message });
    }
    // A megabyte is cut short by the length bound before anything else looks at it.
    expect(issue(BackupArgs.safeParse({ paths: ['/srv'], stop_containers: [`label:${'x'.repeat(1 << 20)}`] }))).toEqual({ path: 'stop_containers.0', message: 'too long: a container name, or label:<key>[=<value>] (key and value at most 128 characters each)' });
    expect(BackupArgs.safeParse({ paths: ['/srv'], stop_containers: [42] }).success).toBe(false);
    expect(issue(BackupArgs.safeParse({ paths: ['/srv'], stop_containers: Array.from({ length: 33 }, (_, i) => `c${i}`) }))?.path).toBe('stop_containers');
  });
});
