import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from '@restic-manager/engines';
import type { RepositoryEngine } from '@restic-manager/protocol';

export type VaultEngineStatus = { installed: true; dir: string } | { installed: false; reason: string };

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

export interface VaultLookup {
  /** Resolves a bare specifier to a file URL (default: this module's import.meta.resolve). */
  resolve?: (specifier: string) => string;
  /** The agent's own package.json (default: the one above dist/). */
  agentPackageJson?: string;
}

/**
 * Whether @restic-manager/vault and every registry package it needs are installed, found
 * without loading any of them (an idle agent never loads the vault engine, decision 0006).
 * What it needs: the vault's own `dependencies` (the workspace) plus the agent's
 * `optionalDependencies` — in the packaged agent the vault's dependencies are exactly those
 * (decision 0010), and npm leaves them out when one of them fails to build. Presence is what
 * this checks; whether the native addons actually load is what `restic-manager-agent version`
 * checks (`vaultSelfTest`). Never throws.
 */
export function vaultEngineStatus(o: VaultLookup = {}): VaultEngineStatus {
  const resolve = o.resolve ?? ((s: string): string => import.meta.resolve(s));
  let entry: string;
  try {
    entry = fileURLToPath(resolve('@restic-manager/vault'));
  } catch {
    return { installed: false, reason: '@restic-manager/vault is not installed' };
  }
  const dir = packageDir(entry);
  if (!dir) return { installed: false, reason: `no package.json above ${entry}` };
  const vault = readPackage(path.join(dir, 'package.json'));
  if (typeof vault === 'string') return { installed: false, reason: vault };
  const agent = readPackage(o.agentPackageJson ?? fileURLToPath(new URL('../package.json', import.meta.url)));
  const needs = [...new Set([...Object.keys(vault.dependencies ?? {}), ...Object.keys(typeof agent === 'string' ? {} : agent.optionalDependencies ?? {})])];
  // ESM resolution: <dir>/node_modules, then each parent's. A package.json, not just the
  // directory: npm can leave an emptied directory behind when it rolls a failed optional one back.
  const lookup = ancestors(dir).map((d) => path.join(d, 'node_modules'));
  const missing = needs.filter((n) => !lookup.some((p) => fs.existsSync(path.join(p, n, 'package.json'))));
  if (missing.length) return { installed: false, reason: `missing ${missing.join(', ')} (not installed with the agent; see docs/agent.md "Vault engine")` };
  return { installed: true, dir };
}

function readPackage(file: string): PackageJson | string {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PackageJson;
  } catch (err) {
    return `cannot read ${file}: ${(err as Error).message}`;
  }
}

/** `dir` and every directory above it, nearest first. */
function ancestors(dir: string): string[] {
  const out = [dir];
  while (path.dirname(out[out.length - 1]!) !== out[out.length - 1]) out.push(path.dirname(out[out.length - 1]!));
  return out;
}

/** The directory of the package.json nearest above `file`, or null. */
function packageDir(file: string): string | null {
  return ancestors(path.dirname(file)).find((d) => fs.existsSync(path.join(d, 'package.json'))) ?? null;
}

export function vaultEngineInstalled(): boolean {
  return vaultEngineStatus().installed;
}

/**
 * Loads the vault engine and runs its self-test (SQLite, zstd, S3 client): null when it works,
 * else the error. For `version`; the service loop never calls it. Never throws.
 */
export async function vaultSelfTest(): Promise<string | null> {
  try {
    const v = await import('@restic-manager/vault');
    await v.selfTest();
    return null;
  } catch (err) {
    return (err as Error).message.split('\n')[0] ?? String(err);
  }
}

/**
 * Loads an engine by name on first use (`RepositoryConfig.engine`; restic when absent): the
 * dynamic import keeps the engines package out of an idle agent's memory until a job actually runs.
 */
export async function loadEngine(name: RepositoryEngine = 'restic'): Promise<Engine> {
  const { createEngine } = await import('@restic-manager/engines');
  return createEngine(name);
}

/** The restic engine (what every job ran before repositories named their engine). */
export function loadResticEngine(): Promise<Engine> {
  return loadEngine('restic');
}
