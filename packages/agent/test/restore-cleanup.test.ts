import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { failedFilesMessage, removeFailedFiles } from '../src/jobs/restore-cleanup.js';
import { tempDirs } from './helpers/temp-dirs.js';

const { tmp, removeLater } = tempDirs('rm-restore-cleanup-');

describe('files a restore could not restore', () => {
  it('a name with ": " that restic never created, reported twice, is one file with both reasons', async () => {
    const target = tmp();
    // As the engine splits "ignoring error for /src/big: name.bin: <reason>" at the first ": ".
    const r = await removeFailedFiles(target, [
      { path: '/src/big', reason: 'name.bin: ciphertext verification failed' },
      { path: '/src/big', reason: 'name.bin: UtimesNano: no such file or directory' },
    ], 2);
    expect(r).toEqual({ named: ['/src/big: name.bin (ciphertext verification failed; UtimesNano: no such file or directory)'], count: 1, removed: [] });
    expect(failedFilesMessage(r, { removedFrom: target })).toBe('1 file(s) could not be restored: /src/big: name.bin (ciphertext verification failed; UtimesNano: no such file or directory); every other file was restored');
  });

  it('removes a file that is there, never anything outside the target, and counts files beyond the named ones', async () => {
    const target = tmp();
    fs.mkdirSync(path.join(target, 'src'));
    for (const n of ['a', 'b', 'c', 'd', 'e', 'f']) fs.writeFileSync(path.join(target, 'src', n), 'x');
    const outside = path.join(path.dirname(target), `${path.basename(target)}-keep`);
    fs.writeFileSync(outside, 'keep');
    removeLater(outside);
    const failed = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => ({ path: `/src/${n}`, reason: 'ciphertext verification failed' }));
    failed.push({ path: `/../${path.basename(outside)}`, reason: 'ciphertext verification failed' });
    const r = await removeFailedFiles(target, failed, 9);
    expect(r.removed).toEqual(['/src/a', '/src/b', '/src/c', '/src/d', '/src/e', '/src/f']);
    expect(fs.readdirSync(path.join(target, 'src'))).toEqual([]);
    expect(fs.readFileSync(outside, 'utf8')).toBe('keep');
    expect(r.count).toBe(9);
    expect(failedFilesMessage(r, { removedFrom: target })).toBe(`9 file(s) could not be restored: ${r.named.join(', ')}, and 4 more; 6 of them were removed from ${target} so no damaged file is left under its name; every other file was restored`);
    expect(failedFilesMessage(r, { notMovedTo: '/home/new' })).toMatch(/; nothing of this part was moved to \/home\/new; every other file was restored$/);
  });
});
