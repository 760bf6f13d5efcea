import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { vaultEngineStatus } from '../src/engine-loader.js';
import { tempDirs } from './helpers/temp-dirs.js';

/*
 * The layout npm leaves in <prefix>/lib/node_modules/restic-manager-agent after installing the
 * packed tarball (pack.mjs): the vault bundled without dependencies, its registry dependencies
 * as the agent's optionalDependencies next to it — or missing when a native build failed.
 */
const { tmp } = tempDirs();

function installed(present: string[], emptied: string[] = []): { agentPackageJson: string; resolve: (s: string) => string } {
  const root = tmp('rm-engine-loader-');
  const write = (f: string, body: string): void => {
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, body);
  };
  const agentPackageJson = path.join(root, 'package.json');
  write(agentPackageJson, JSON.stringify({ name: 'restic-manager-agent', optionalDependencies: { 'better-sqlite3': '^12', '@aws-sdk/client-s3': '^3', 'zstd-napi': '^0.0.13' } }));
  const entry = path.join(root, 'node_modules/@restic-manager/vault/dist/index.js');
  write(entry, 'export {};\n');
  write(path.join(root, 'node_modules/@restic-manager/vault/package.json'), JSON.stringify({ name: '@restic-manager/vault', main: './dist/index.js' }));
  for (const p of present) write(path.join(root, 'node_modules', p, 'package.json'), JSON.stringify({ name: p }));
  for (const p of emptied) fs.mkdirSync(path.join(root, 'node_modules', p), { recursive: true });
  return { agentPackageJson, resolve: () => pathToFileURL(entry).href };
}

describe('vaultEngineStatus (what decides hello.features "vault")', () => {
  it('installed when the vault and every optional dependency of the agent are there', () => {
    const s = vaultEngineStatus(installed(['better-sqlite3', '@aws-sdk/client-s3', 'zstd-napi']));
    expect(s).toMatchObject({ installed: true });
  });

  it('not installed, naming what is missing, when npm dropped a native module whose build failed', () => {
    // npm leaves the emptied directory of a rolled-back optional package behind.
    const s = vaultEngineStatus(installed(['@aws-sdk/client-s3'], ['better-sqlite3', 'zstd-napi']));
    expect(s).toEqual({ installed: false, reason: expect.stringMatching(/^missing better-sqlite3, zstd-napi \(not installed with the agent/) });
  });

  it('not installed when the vault package itself cannot be resolved', () => {
    const s = vaultEngineStatus({ resolve: () => { throw new Error("Cannot find package '@restic-manager/vault'"); } });
    expect(s).toEqual({ installed: false, reason: '@restic-manager/vault is not installed' });
  });

  it('in the workspace (the real resolution) the vault and its dependencies are installed', () => {
    expect(vaultEngineStatus()).toMatchObject({ installed: true });
  });
});
