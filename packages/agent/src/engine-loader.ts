import type { Engine } from '@restic-manager/engines';

/**
 * Whether @restic-manager/vault can be imported, resolved without loading it (an idle agent never
 * loads the vault engine). A packaged agent installed without it does not announce `vault`.
 */
export function vaultEngineInstalled(): boolean {
  try {
    import.meta.resolve('@restic-manager/vault');
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads the restic engine on first use: the dynamic import keeps the engines package out of
 * an idle agent's memory until a job actually runs.
 */
export async function loadResticEngine(): Promise<Engine> {
  const { createEngine } = await import('@restic-manager/engines');
  return createEngine('restic');
}
