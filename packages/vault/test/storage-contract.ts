// One contract suite for every Storage implementation.
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import type { Storage } from '../src/storage/index.js';
import { StorageError } from '../src/storage/index.js';

async function collect(it: AsyncIterable<{ key: string; size: number }>): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for await (const o of it) m.set(o.key, o.size);
  return m;
}

export function storageContract(make: () => Storage, missing: () => Storage): void {
  it('put then get returns the same bytes; head reports size and time', async () => {
    const s = make();
    const data = randomBytes(1000);
    await s.put('a/b/obj1', data);
    expect((await s.get('a/b/obj1')).equals(data)).toBe(true);
    const h = await s.head('a/b/obj1');
    expect(h?.size).toBe(1000);
    expect(Math.abs(h!.modified.getTime() - Date.now())).toBeLessThan(120_000);
  });

  it('large objects (multipart on S3) round-trip', async () => {
    const s = make();
    const data = randomBytes(9 * 1024 * 1024 + 17);
    await s.put('big/obj', data);
    expect((await s.get('big/obj')).equals(data)).toBe(true);
  });

  it('getRange returns exactly [start, end) and clamps at the end', async () => {
    const s = make();
    const data = randomBytes(5000);
    await s.put('r/obj', data);
    expect((await s.getRange('r/obj', 100, 200)).equals(data.subarray(100, 200))).toBe(true);
    expect((await s.getRange('r/obj', 4990, 6000)).equals(data.subarray(4990))).toBe(true);
    const before = s.bytesRead;
    await s.getRange('r/obj', 0, 10);
    expect(s.bytesRead - before).toBe(10);
  });

  it('missing objects: get rejects NotFound, head is null, delete succeeds', async () => {
    const s = make();
    await expect(s.get('nope/x')).rejects.toMatchObject({ code: 'NotFound' });
    await expect(s.getRange('nope/x', 0, 5)).rejects.toMatchObject({ code: 'NotFound' });
    expect(await s.head('nope/x')).toBeNull();
    await s.delete('nope/x');
  });

  it('list returns every key under a prefix and nothing else', async () => {
    const s = make();
    await s.put('l/one', Buffer.from('1'));
    await s.put('l/sub/two', Buffer.from('22'));
    await s.put('other/three', Buffer.from('333'));
    const m = await collect(s.list('l/'));
    expect([...m.entries()].sort()).toEqual([
      ['l/one', 1],
      ['l/sub/two', 2],
    ]);
  });

  it('delete removes the object', async () => {
    const s = make();
    await s.put('d/x', Buffer.from('x'));
    await s.delete('d/x');
    expect(await s.head('d/x')).toBeNull();
  });

  it('createOnly put never replaces different content silently where supported', async () => {
    const s = make();
    await s.put('c/x', Buffer.from('first'), { createOnly: true });
    const second = s.put('c/x', Buffer.from('first'), { createOnly: true });
    // Backends with conditional writes reject; others overwrite (same content-addressed bytes).
    await second.catch((e: unknown) => expect((e as StorageError).code).toBe('AlreadyExists'));
    expect((await s.get('c/x')).toString()).toBe('first');
  });

  it('a missing bucket/directory is reported as NoBucket', async () => {
    const s = missing();
    await expect(s.probe()).rejects.toMatchObject({ code: 'NoBucket' });
    await expect(s.put('x', Buffer.from('x'))).rejects.toBeInstanceOf(StorageError);
  });
}
