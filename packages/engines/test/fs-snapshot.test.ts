import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import { SnapshotReleaseError, withSnapshot, type CommandResult, type CommandRunner, type FsSnapshotKind } from '@restic-manager/engines';

/** Records every command; answers from a script keyed by the command's first words. */
class RecordingRunner implements CommandRunner {
  readonly calls: string[] = [];
  constructor(private readonly answers: Record<string, Partial<CommandResult>> = {}) {}
  run(cmd: string, args: string[]): Promise<CommandResult> {
    const line = [cmd, ...args].join(' ');
    this.calls.push(line);
    const key = Object.keys(this.answers).find((k) => line.startsWith(k));
    return Promise.resolve({ code: 0, stdout: '', stderr: '', ...(key ? this.answers[key] : {}) });
  }
  released(kind: FsSnapshotKind): boolean {
    const verb = { btrfs: 'btrfs subvolume delete', zfs: 'zfs destroy', lvm: 'lvremove -f' }[kind];
    return this.calls.some((c) => c.startsWith(verb));
  }
}

const ZFS = { 'zfs list': { stdout: 'tank\t/tank\ntank/data\t/srv/data\ntank/other\tnone\n' } };
const LVM = { findmnt: { stdout: '/dev/mapper/vg0-data /srv/data ext4\n' }, lvs: { stdout: '  vg0 data\n' } };

describe('withSnapshot release guarantees (recording runner)', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await tempDir();
  });
  afterAll(() => tmp.cleanup());
  const opts = (runner: CommandRunner, extra: object = {}) => ({ runner, name: 'snap1', snapshotDir: `${tmp.path}/snaps`, mountDir: `${tmp.path}/mnt`, ...extra });

  it.each([
    ['btrfs', {}, '/srv/data', `btrfs subvolume snapshot -r /srv/data SNAPS/snap1`],
    ['zfs', ZFS, '/srv/data/www', 'zfs snapshot tank/data@snap1'],
    ['lvm', LVM, '/srv/data/www', 'lvcreate -s -n snap1 -L 1G vg0/data'],
  ] as const)('%s: created, handed to fn, released on success', async (kind, answers, source, create) => {
    const runner = new RecordingRunner(answers);
    const seen = await withSnapshot(kind, source, async (h) => h.path, opts(runner));
    expect(runner.calls.join('\n').replaceAll(`${tmp.path}/snaps`, 'SNAPS')).toContain(create);
    expect(runner.released(kind)).toBe(true);
    if (kind === 'zfs') expect(seen).toBe('/srv/data/.zfs/snapshot/snap1/www');
    if (kind === 'lvm') expect(seen).toBe(`${tmp.path}/mnt/www`);
    if (kind === 'btrfs') expect(seen).toBe(`${tmp.path}/snaps/snap1`);
  });

  it.each(['btrfs', 'zfs', 'lvm'] as const)('%s: released when fn throws, and the error is rethrown', async (kind) => {
    const runner = new RecordingRunner({ ...ZFS, ...LVM });
    await expect(withSnapshot(kind, '/srv/data', () => Promise.reject(new Error('backup blew up')), opts(runner))).rejects.toThrow('backup blew up');
    expect(runner.released(kind)).toBe(true);
  });

  it.each(['btrfs', 'zfs', 'lvm'] as const)('%s: released on abort even when fn never settles (after the grace period)', async (kind) => {
    const runner = new RecordingRunner({ ...ZFS, ...LVM });
    const ac = new AbortController();
    const started = Date.now();
    const never = (): Promise<never> => {
      setTimeout(() => ac.abort(), 20); // abort while fn is running
      return new Promise(() => undefined);
    };
    await expect(withSnapshot(kind, '/srv/data', never, opts(runner, { signal: ac.signal, abortGraceMs: 100 }))).rejects.toThrow(/abort/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(runner.released(kind)).toBe(true);
  });

  it('abort: waits for fn to settle before releasing, then rejects', async () => {
    const runner = new RecordingRunner();
    const ac = new AbortController();
    const order: string[] = [];
    const p = withSnapshot('btrfs', '/srv/data', (h) => new Promise<void>((_res, reject) => {
      h.signal.addEventListener('abort', () => setTimeout(() => {
        order.push('fn settled');
        reject(new Error('interrupted'));
      }, 50));
      setTimeout(() => ac.abort(), 10); // abort while fn is running
    }), { ...opts(runner), signal: ac.signal });
    await expect(p).rejects.toThrow('interrupted');
    order.push(runner.released('btrfs') ? 'released' : 'not released');
    expect(order).toEqual(['fn settled', 'released']);
  });

  it('abort before start creates nothing; a failed create leaves nothing to release', async () => {
    const runner = new RecordingRunner({ 'btrfs subvolume snapshot': { code: 1, stderr: 'ERROR: not a subvolume' } });
    const ac = new AbortController();
    ac.abort();
    await expect(withSnapshot('btrfs', '/srv/data', () => Promise.resolve(1), { ...opts(runner), signal: ac.signal })).rejects.toThrow(/abort/i);
    expect(runner.calls).toEqual([]);
    await expect(withSnapshot('btrfs', '/srv/data', () => Promise.resolve(1), opts(runner))).rejects.toThrow('not a subvolume');
    expect(runner.released('btrfs')).toBe(false);
  });

  it('a failed release is reported with the snapshot id (and fn error as cause)', async () => {
    const runner = new RecordingRunner({ 'zfs destroy': { code: 1, stderr: 'dataset is busy' }, ...ZFS });
    const ok = withSnapshot('zfs', '/srv/data', () => Promise.resolve('done'), opts(runner));
    await expect(ok).rejects.toBeInstanceOf(SnapshotReleaseError);
    await expect(ok).rejects.toMatchObject({ snapshotId: 'tank/data@snap1' });
    const both = withSnapshot('zfs', '/srv/data', () => Promise.reject(new Error('fn failed')), opts(runner));
    await expect(both).rejects.toMatchObject({ cause: new Error('fn failed') });
  });

  it('lvm: a failed mount removes the snapshot LV it just created', async () => {
    const runner = new RecordingRunner({ ...LVM, mount: { code: 32, stderr: 'wrong fs type' } });
    await expect(withSnapshot('lvm', '/srv/data', () => Promise.resolve(1), opts(runner))).rejects.toThrow('wrong fs type');
    expect(runner.calls.at(-1)).toBe('lvremove -f vg0/snap1');
  });
});
