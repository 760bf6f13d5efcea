#!/usr/bin/env node
// Builds a self-contained npm tarball of the agent (what install.sh installs from
// <server>/install/agent.tgz): the agent's dist plus the workspace packages it needs
// (@restic-manager/protocol, @restic-manager/engines) as bundled dependencies, the systemd
// unit and docs/agent.md. Third-party dependencies (ws, croner, yaml, zod) come from the registry.
// Usage: node packages/agent/scripts/pack.mjs [out-dir]   (run `npx tsc -b` first)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const agentDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(agentDir, '../..');
const outDir = path.resolve(process.argv[2] ?? path.join(agentDir, 'pack'));
const BUNDLED = ['protocol', 'engines'];

const copyDist = (from, to) => {
  if (!fs.existsSync(path.join(from, 'dist'))) throw new Error(`${from}/dist is missing: run 'npx tsc -b' first`);
  fs.cpSync(path.join(from, 'dist'), path.join(to, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.tsbuildinfo') });
};

const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-agent-pack-'));
try {
  const pkg = JSON.parse(fs.readFileSync(path.join(agentDir, 'package.json'), 'utf8'));
  const deps = {};
  for (const [name, range] of Object.entries(pkg.dependencies ?? {})) if (!name.startsWith('@restic-manager/')) deps[name] = range;
  for (const b of BUNDLED) {
    const bp = JSON.parse(fs.readFileSync(path.join(root, 'packages', b, 'package.json'), 'utf8'));
    for (const [name, range] of Object.entries(bp.dependencies ?? {})) if (!name.startsWith('@restic-manager/')) deps[name] ??= range;
    const dest = path.join(stage, 'node_modules', '@restic-manager', b);
    fs.mkdirSync(dest, { recursive: true });
    copyDist(path.join(root, 'packages', b), dest);
    fs.writeFileSync(path.join(dest, 'package.json'), JSON.stringify({ name: bp.name, version: bp.version, type: 'module', main: bp.main, types: bp.types, exports: bp.exports }, null, 2));
  }
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
    dependencies: { ...deps, ...Object.fromEntries(BUNDLED.map((b) => [`@restic-manager/${b}`, '0.1.0'])) },
    bundleDependencies: BUNDLED.map((b) => `@restic-manager/${b}`),
  }, null, 2));
  fs.mkdirSync(outDir, { recursive: true });
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', outDir], { cwd: stage, encoding: 'utf8' }).trim().split('\n').pop();
  const file = path.join(outDir, 'agent.tgz');
  fs.renameSync(path.join(outDir, out), file);
  process.stdout.write(`${file}\n`);
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
