import type { Engine } from '@restic-manager/engines';

/**
 * Loads the restic engine on first use: the dynamic import keeps the engines package out of
 * an idle agent's memory until a job actually runs.
 */
export async function loadResticEngine(): Promise<Engine> {
  const { createEngine } = await import('@restic-manager/engines');
  return createEngine('restic');
}
