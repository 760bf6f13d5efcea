#!/usr/bin/env node
// Builds the two installable npm tarballs (docs/operations.md, "Install"):
//   restic-manager-<version>.tgz        the server and the `restic-manager` CLI
//   restic-manager-agent-<version>.tgz  the agent (packages/agent/scripts/pack.mjs, re-packed)
// Each stands alone: the workspace packages it needs and every third-party dependency are
// bundled (bundleDependencies), so `npm install -g --offline ./restic-manager-*.tgz` needs no
// registry, and native modules need no compiler (their binaries ride along as prebuilds for
// this platform and Node.js ABI: build the packages on the kind of machine they install on).
// The server package carries what it serves: static/ (CSS, JS), install/install.sh and
// install/agent.tgz (the registry-flavoured agent tarball install.sh expects), so an installed
// server needs no repository checkout.
// Usage: node scripts/pack.mjs [out-dir]   (run `npx tsc -b` first)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'dist-packages'));
const BUNDLED = ['protocol', 'server', 'vault'];
const readPkg = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
const writeJson = (file, v) => fs.writeFileSync(file, `${JSON.stringify(v, null, 2)}\n`);
const thirdParty = (deps) => Object.entries(deps ?? {}).filter(([name]) => !name.startsWith('@restic-manager/'));
const copyDist = (from, to) => {
  if (!fs.existsSync(path.join(from, 'dist'))) throw new Error(`${from}/dist is missing: run 'npx tsc -b' first`);
  fs.cpSync(path.join(from, 'dist'), path.join(to, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.tsbuildinfo') });
};

/**
 * A native module's install script is `prebuild-install || node-gyp rebuild`. prebuild-install
 * first looks for `<local-prebuilds>/<release file>`; the package's `.prebuild-installrc` points
 * local-prebuilds at its own prebuilds/ directory, where the binary this repository built is put
 * under the name prebuild-install computes for this platform and ABI. Installing then neither
 * downloads nor compiles; on another ABI the name does not match and the usual path is taken.
 */
function addPrebuild(src, pkgDir, where) {
  const pkg = readPkg(src);
  const install = pkg.scripts?.install ?? '';
  if (!install.includes('prebuild-install')) return;
  if (where !== `node_modules/${pkg.name}`) throw new Error(`${where}: a nested native module is not supported by .prebuild-installrc's relative path`);
  const runtime = /prebuild-install\b[^|;&]*?(?:-r|--runtime)\s+(\S+)/.exec(install)?.[1];
  const code = "const rc=require('prebuild-install/rc'),u=require('prebuild-install/util'),p=require(process.argv[1]+'/package.json'),o=rc(p);o.pkg=p;process.stdout.write(require('path').basename(u.getDownloadUrl(o)))";
  const file = execFileSync(process.execPath, ['-e', code, '--', src, ...(runtime ? ['-r', runtime] : [])], { cwd: src, encoding: 'utf8' }).trim();
  const release = path.join(src, 'build', 'Release');
  // Only the module's own binding: prebuild-install loads the last .node it unpacks to check it,
  // and better-sqlite3's test_extension.node is an SQLite extension, not a Node.js module.
  const binaries = fs.existsSync(release) ? fs.readdirSync(release).filter((f) => f.endsWith('.node') && !f.startsWith('test')) : [];
  if (!binaries.length) throw new Error(`${src} has no build/Release/*.node: run 'npm ci' first`);
  fs.mkdirSync(path.join(pkgDir, 'prebuilds'), { recursive: true });
  execFileSync('tar', ['czf', path.join(pkgDir, 'prebuilds', file), '-C', src, ...binaries.map((b) => `build/Release/${b}`)]);
  const depth = where.split('/').length;
  fs.writeFileSync(path.join(pkgDir, '.prebuild-installrc'), `local-prebuilds=${Array(depth).fill('..').join('/')}/prebuilds\n`);
}

/**
 * Copies the dependency tree of `deps` (+ `optional`) into `pkgDir/node_modules`, laid out by npm
 * from package-lock.json (no network) and copied from this repository's node_modules. Returns the
 * names to list in bundleDependencies.
 */
function bundleThirdParty(pkgDir, name, version, deps, optional, work) {
  fs.mkdirSync(work);
  writeJson(path.join(work, 'package.json'), { name, version, dependencies: deps, optionalDependencies: optional });
  fs.copyFileSync(path.join(root, 'package-lock.json'), path.join(work, 'package-lock.json'));
  execFileSync('npm', ['install', '--package-lock-only', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--silent'], { cwd: work, stdio: 'ignore' });
  const wanted = JSON.parse(fs.readFileSync(path.join(work, 'package-lock.json'), 'utf8')).packages;
  const have = new Map();
  for (const [where, meta] of Object.entries(JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')).packages)) {
    if (where.includes('node_modules/')) have.set(`${where.slice(where.lastIndexOf('node_modules/') + 13)}@${meta.version}`, where);
  }
  for (const [where, meta] of Object.entries(wanted)) {
    if (!where) continue;
    const from = have.get(`${where.slice(where.lastIndexOf('node_modules/') + 13)}@${meta.version}`);
    if (from && fs.existsSync(path.join(root, from))) {
      const src = path.join(root, from);
      // A native module's build/ (objects, the compiled .node) is replaced by its prebuild.
      fs.cpSync(src, path.join(pkgDir, where), { recursive: true, dereference: true, filter: (f) => !(meta.hasInstallScript && f.startsWith(path.join(src, 'build'))) });
      if (meta.hasInstallScript) addPrebuild(src, pkgDir, where);
    } else if (!meta.optional) {
      throw new Error(`${where}@${meta.version} is not installed in ${root}/node_modules: run 'npm ci' first`);
    }
  }
  return [...Object.keys(deps), ...Object.keys(optional)];
}

function npmPack(pkgDir, out) {
  const file = execFileSync('npm', ['pack', '--silent', '--pack-destination', outDir], { cwd: pkgDir, encoding: 'utf8' }).trim().split('\n').pop();
  fs.renameSync(path.join(outDir, file), path.join(outDir, out));
  return path.join(outDir, out);
}

fs.mkdirSync(outDir, { recursive: true });
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-pack-'));
try {
  // The agent: its registry-flavoured tarball is served by the server (install/agent.tgz); the
  // stand-alone one is the same package with its dependencies bundled.
  const agentTgz = execFileSync(process.execPath, [path.join(root, 'packages/agent/scripts/pack.mjs'), stage], { encoding: 'utf8' }).trim();
  const agentDir = path.join(stage, 'agent');
  fs.mkdirSync(agentDir);
  execFileSync('tar', ['xzf', agentTgz, '-C', agentDir]);
  const agentPkgDir = path.join(agentDir, 'package');
  const agent = readPkg(agentPkgDir);
  const agentThird = Object.fromEntries(thirdParty(agent.dependencies));
  const agentBundle = bundleThirdParty(agentPkgDir, agent.name, agent.version, agentThird, agent.optionalDependencies ?? {}, path.join(stage, 'agent-lock'));
  agent.bundleDependencies = [...new Set([...(agent.bundleDependencies ?? []), ...agentBundle])];
  agent.files = [...agent.files, 'prebuilds', '.prebuild-installrc'];
  writeJson(path.join(agentPkgDir, 'package.json'), agent);
  const agentOut = npmPack(agentPkgDir, `restic-manager-agent-${agent.version}.tgz`);

  const cliDir = path.join(root, 'packages/cli');
  const cli = readPkg(cliDir);
  const pkgDir = path.join(stage, 'restic-manager');
  const deps = Object.fromEntries(thirdParty(cli.dependencies));
  for (const name of BUNDLED) {
    const from = path.join(root, 'packages', name);
    const bp = readPkg(from);
    for (const [dep, range] of thirdParty(bp.dependencies)) deps[dep] ??= range;
    const dest = path.join(pkgDir, 'node_modules', '@restic-manager', name);
    fs.mkdirSync(dest, { recursive: true });
    copyDist(from, dest);
    // No dependencies here: they are bundled at the top level.
    writeJson(path.join(dest, 'package.json'), { name: bp.name, version: bp.version, type: 'module', main: bp.main, types: bp.types, exports: bp.exports });
    if (name === 'server') {
      fs.cpSync(path.join(from, 'static'), path.join(dest, 'static'), { recursive: true });
      fs.mkdirSync(path.join(dest, 'install'));
      fs.copyFileSync(path.join(root, 'deploy/install/install.sh'), path.join(dest, 'install/install.sh'));
      fs.copyFileSync(agentTgz, path.join(dest, 'install/agent.tgz'));
    }
  }
  copyDist(cliDir, pkgDir);
  fs.chmodSync(path.join(pkgDir, 'dist', 'main.js'), 0o755);
  fs.cpSync(path.join(root, 'deploy/systemd'), path.join(pkgDir, 'deploy/systemd'), { recursive: true });
  fs.mkdirSync(path.join(pkgDir, 'docs'));
  for (const doc of ['operations.md', 'server.md', 'security.md']) {
    if (fs.existsSync(path.join(root, 'docs', doc))) fs.copyFileSync(path.join(root, 'docs', doc), path.join(pkgDir, 'docs', doc));
  }
  const bundled = bundleThirdParty(pkgDir, 'restic-manager', cli.version, deps, {}, path.join(stage, 'lock'));
  const top = readPkg(root);
  writeJson(path.join(pkgDir, 'package.json'), {
    name: 'restic-manager',
    version: cli.version,
    description: top.description,
    license: top.license,
    type: 'module',
    engines: top.engines,
    bin: { 'restic-manager': './dist/main.js' },
    files: ['dist', 'deploy', 'docs', 'prebuilds', '.prebuild-installrc'],
    dependencies: { ...deps, ...Object.fromEntries(BUNDLED.map((b) => [`@restic-manager/${b}`, readPkg(path.join(root, 'packages', b)).version])) },
    bundleDependencies: [...BUNDLED.map((b) => `@restic-manager/${b}`), ...bundled],
  });
  const serverOut = npmPack(pkgDir, `restic-manager-${cli.version}.tgz`);
  process.stdout.write(`${serverOut}\n${agentOut}\n`);
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
