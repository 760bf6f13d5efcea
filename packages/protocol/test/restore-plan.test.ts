import { describe, expect, it } from 'vitest';
import { planRestore } from '@restic-manager/protocol';
import type { Remap } from '@restic-manager/protocol';

const stage = (to: string, i: number): string => `${to}.stage${i}`;
const plan = (include: string[], remap: Remap[], target = '/', exclude: string[] = []) => planRestore({ target, include, exclude, remap }, stage);

describe('planRestore (remap on restic 0.14)', () => {
  it('without remap is one restic run with the selected paths', () => {
    expect(plan(['/etc/hosts', '/home/'], [], '/restore')).toEqual({ ok: true, parts: [{ target: '/restore', include: ['/etc/hosts', '/home'], exclude: [] }] });
  });

  it('restores a remapped subtree through a staging directory and moves it onto `to`', () => {
    expect(plan(['/home/alice/docs', '/etc'], [{ from: '/home/alice', to: '/home/alice-new' }])).toEqual({
      ok: true,
      parts: [
        { target: '/', include: ['/etc'], exclude: [] },
        { target: '/home/alice-new.stage0', include: ['/home/alice/docs'], exclude: [], move: { from: '/home/alice-new.stage0/home/alice', to: '/home/alice-new' } },
      ],
    });
  });

  it('with nothing selected excludes the remapped subtrees from the main run', () => {
    const r = plan([], [{ from: '/srv/a', to: '/srv/b' }]);
    expect(r.ok && r.parts.map((p) => [p.include, p.exclude])).toEqual([[[], ['/srv/a']], [['/srv/a'], []]]);
  });

  it.each([
    [['etc'], [], 'include.0', 'absolute'],
    [['/a/../b'], [], 'include.0', '..'],
    [['/etc'], [{ from: '/home/alice', to: '/x' }], 'remap.0.from', 'matches no selected path'],
    [['/home'], [{ from: '/home/alice', to: '/x' }], 'remap.0.from', 'lies inside the selected /home'],
    [['/home', '/home/alice/x'], [{ from: '/home/alice', to: '/x' }], 'remap.0.from', 'lies inside the selected /home'],
    [['/a'], [{ from: 'a', to: '/x' }], 'remap.0.from', 'absolute'],
    [['/a'], [{ from: '/a', to: 'x' }], 'remap.0.to', 'absolute'],
    [['/a'], [{ from: '/a', to: '/a' }], 'remap.0.to', 'same as from'],
    [['/a/b'], [{ from: '/a', to: '/x' }, { from: '/a/b', to: '/y' }], 'remap.0.from', 'overlap'],
    [['/a'], [{ from: '/', to: '/x' }], 'remap.0.from', 'alternate directory'],
  ] as [string[], Remap[], string, string][])('refuses %j with remap %j (%s)', (include, remap, field, text) => {
    const r = plan(include, remap);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.field).toBe(field);
      expect(r.message).toContain(text);
    }
  });

  it('refuses exclude together with remap', () => {
    expect(plan(['/a'], [{ from: '/a', to: '/b' }], '/', ['*.tmp'])).toMatchObject({ ok: false, field: 'exclude' });
  });
});
