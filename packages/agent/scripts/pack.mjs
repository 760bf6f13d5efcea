#!/usr/bin/env node
// Builds a self-contained npm tarball of the agent (what install.sh installs from
// <server>/install/agent.tgz): the agent's dist plus the workspace packages it needs
// (@restic-manager/protocol, @restic-manager/engines, @restic-manager/vault) as bundled
// dependencies, the systemd unit and docs/agent.md. Third-party dependencies come from the registry:
// those of the agent, protocol and engines (ws, croner, zod) as `dependencies`; those only the
// vault engine needs (better-sqlite3 and zstd-napi, which are native, @aws-sdk/*, js-yaml) as
// `optionalDependencies`, so a host where a native build fails still gets a working agent that
// does not announce `vault` (docs/decisions/0010-agent-vault-bundle.md).
// Usage: node packages/agent/scripts/pack.mjs [out-dir]   (run `npx tsc -b` first)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const agentDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(agentDir, '../..');
const outDir = path.resolve(process.argv[2] ?? path.join(agentDir, 'pack'));
/** Workspace packages copied into the tarball; `optional: true` = its registry deps are optional. */
const BUNDLED = [
  { name: 'protocol', optional: false },
  { name: 'engines', optional: false },
  { name: 'vault', optional: true },
];

const copyDist = (from, to) => {
  if (!fs.existsSync(path.join(from, 'dist'))) throw new Error(`${from}/dist is missing: run 'npx tsc -b' first`);
  fs.cpSync(path.join(from, 'dist'), path.join(to, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.tsbuildinfo') });
};
const thirdParty = (deps) => Object.entries(deps ?? {}).filter(([name]) => !name.startsWith('@restic-manager/'));

const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-agent-pack-'));
try {
  const pkg = JSON.parse(fs.readFileSync(path.join(agentDir, 'package.json'), 'utf8'));
  const deps = Object.fromEntries(thirdParty(pkg.dependencies));
  const optional = {};
  for (const b of BUNDLED) {
    const bp = JSON.parse(fs.readFileSync(path.join(root, 'packages', b.name, 'package.json'), 'utf8'));
    for (const [name, range] of thirdParty(bp.dependencies)) {
      if (!b.optional) deps[name] ??= range;
      else optional[name] ??= range;
    }
    const dest = path.join(stage, 'node_modules', '@restic-manager', b.name);
    fs.mkdirSync(dest, { recursive: true });
    copyDist(path.join(root, 'packages', b.name), dest);
    // No `dependencies` (nor peers) here: npm takes a bundled package's dependencies for part of
    // the bundle and does not fetch them. They go to the top-level package instead, where a
    // failed optional one is simply absent. The agent reads the top-level optionalDependencies to
    // check that the vault's are all there before it announces `vault` (engine-loader.ts).
    fs.writeFileSync(path.join(dest, 'package.json'), JSON.stringify({ name: bp.name, version: bp.version, type: 'module', main: bp.main, types: bp.types, exports: bp.exports }, null, 2));
  }
  // A dependency the agent needs in any case is never optional.
  for (const name of Object.keys(deps)) delete optional[name];
  copyDist(agentDir, stage);
  fs.chmodSync(path.join(stage, 'dist', 'main.js'), 0o755);
  fs.mkdirSync(path.join(stage, 'deploy'), { recursive: true });
  fs.copyFileSync(path.join(root, 'deploy/systemd/restic-manager-agent.service'), path.join(stage, 'deploy/restic-manager-agent.service'));
  if (fs.existsSync(path.join(root, 'docs/agent.md'))) {
    fs.mkdirSync(path.join(stage, 'docs'), { recursive: true });
    fs.copyFileSync(path.join(root, 'docs/agent.md'), path.join(stage, 'docs/agent.md'));
  }
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify({
    name: 'restic-manager-agent',
    version: pkg.version,
    description: 'restic-manager agent: runs restic on this host for a restic-manager server',
    license: 'PolyForm-Noncommercial-1.0.0',
    type: 'module',
    engines: { node: '>=20' },
    bin: { 'restic-manager-agent': './dist/main.js' },
    files: ['dist', 'deploy', 'docs'],
    dependencies: { ...deps, ...Object.fromEntries(BUNDLED.map((b) => [`@restic-manager/${b.name}`, '0.1.0'])) },
    optionalDependencies: optional,
    bundleDependencies: BUNDLED.map((b) => `@restic-manager/${b.name}`),
  }, null, 2));
  fs.mkdirSync(outDir, { recursive: true });
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', outDir], { cwd: stage, encoding: 'utf8' }).trim().split('\n').pop();
  const file = path.join(outDir, 'agent.tgz');
  fs.renameSync(path.join(outDir, out), file);
  process.stdout.write(`${file}\n`);
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
