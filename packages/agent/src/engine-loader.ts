import type { Engine } from '@restic-manager/engines';

/**
 * Loads the restic engine on first use (a dynamic import keeps the idle agent small).
 * Accepts the factory names the engines package may export.
 */
export async function loadResticEngine(opts: { binary?: string } = {}): Promise<Engine> {
  const mod = (await import('@restic-manager/engines')) as unknown as Record<string, unknown>;
  for (const name of ['createResticEngine', 'resticEngine', 'createRestic']) {
    const f = mod[name];
    if (typeof f === 'function') return (f as (o: unknown) => Engine)(opts);
    if (f && typeof f === 'object' && 'backup' in f) return f as Engine;
  }
  const Cls = mod.ResticEngine;
  if (typeof Cls === 'function') return new (Cls as new (o: unknown) => Engine)(opts);
  throw new Error('@restic-manager/engines does not export a restic engine (createResticEngine) yet');
}
