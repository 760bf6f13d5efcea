#!/usr/bin/env node
// One-time, idempotent set-up shared by `npm test`, `npm run demo` and the benchmarks:
// Debian tools the real-component tests use, npm packages, and a compiled build.
// Each step is skipped when already satisfied, so a warm run costs a few hundred ms.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Debian packages by the command they provide. */
export const DEBIAN_TOOLS = {
  restic: 'restic',
  rclone: 'rclone',
  age: 'age',
  htpasswd: 'apache2-utils',
  chromium: 'chromium',
  shellcheck: 'shellcheck',
  'mkfs.btrfs': 'btrfs-progs',
  openssl: 'openssl',
  // restic's sftp backend is tested against a real OpenSSH server (packages/testkit/src/sftp.ts)
  sshd: 'openssh-server',
  ssh: 'openssh-client',
  // database dump tests start throwaway servers (packages/testkit/src/databases.ts)
  pg_dump: 'postgresql-client',
  pg_ctlcluster: 'postgresql',
  mariadbd: 'mariadb-server',
  'mariadb-dump': 'mariadb-client',
  // Redis and SQLite dumps run live (packages/agent/test/dumps-more.test.ts)
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  sqlite3: 'sqlite3',
  // a private Docker engine (container tests, the server image) and offline-built database images (packages/testkit/src/docker.ts)
  dockerd: 'docker.io',
  debootstrap: 'debootstrap',
  // the vault chunker's WebAssembly is checked against its .wat source
  wat2wasm: 'wabt',
  // the server's and the agent's units are checked with `systemd-analyze verify` / `security`
  'systemd-analyze': 'systemd',
  // several server replicas behind a load balancer (e2e/replicas-haproxy.test.ts)
  haproxy: 'haproxy',
};

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function log(msg) {
  process.stderr.write(`[setup] ${msg}\n`);
}

export function ensureDebianTools(tools = Object.keys(DEBIAN_TOOLS)) {
  const missing = [...new Set(tools.filter((t) => !have(t)).map((t) => DEBIAN_TOOLS[t]))];
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    log(`missing Debian packages: ${missing.join(' ')} — install them with: sudo apt-get install -y ${missing.join(' ')}`);
    return;
  }
  aptInstall(missing);
}

function aptInstall(packages) {
  log(`installing Debian packages: ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
}

function newer(a, b) {
  return statSync(a).mtimeMs > statSync(b).mtimeMs;
}

export function ensureNodeModules() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (existsSync(marker) && !newer(lock, marker)) return;
  log('installing npm packages');
  // Native addons (better-sqlite3, zstd-napi) build with node-gyp when no prebuilt binary can be
  // fetched: point it at the installed Node's own headers so it never looks for them online.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const nodedir = existsSync(path.join(prefix, 'include', 'node', 'node.h')) ? { npm_config_nodedir: prefix } : {};
  execFileSync('npm', [existsSync(lock) ? 'ci' : 'install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit', env: { ...process.env, ...nodedir } });
}

export function build() {
  log('building (tsc -b)');
  execFileSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-b'], { cwd: root, stdio: 'inherit' });
}

/** The REST API fuzz test (packages/server/test/schemathesis.test.ts) runs this pinned schemathesis. */
export const SCHEMATHESIS_VERSION = '4.32.5';
/** A private virtualenv, outside node_modules so `npm ci` keeps it. */
export const SCHEMATHESIS_VENV = path.join(os.homedir(), '.cache', 'restic-manager', `schemathesis-${SCHEMATHESIS_VERSION}`);

/**
 * Installs schemathesis into SCHEMATHESIS_VENV (python3 -m venv + pip; Debian python3-venv when
 * the interpreter lacks venv/ensurepip). Skipped when the marker of a finished install exists;
 * an interrupted install (no marker) is removed and redone.
 */
export function ensureSchemathesis() {
  const done = path.join(SCHEMATHESIS_VENV, '.installed');
  if (existsSync(done)) return;
  const missing = !have('python3') ? ['python3', 'python3-venv'] : spawnSync('python3', ['-c', 'import ensurepip, venv'], { stdio: 'ignore' }).status !== 0 ? ['python3-venv'] : [];
  if (missing.length > 0 && process.getuid?.() !== 0) {
    log(`the API fuzz test needs ${missing.join(' ')} — install with: sudo apt-get install -y ${missing.join(' ')} (until then it is skipped)`);
    return;
  }
  if (missing.length > 0) aptInstall(missing);
  if (spawnSync('python3', ['-c', 'import sys; sys.exit(sys.version_info < (3, 11))'], { stdio: 'ignore' }).status !== 0) {
    log(`schemathesis ${SCHEMATHESIS_VERSION} needs Python ≥ 3.11; python3 is older, so the API fuzz test is skipped`);
    return;
  }
  log(`installing schemathesis ${SCHEMATHESIS_VERSION} into ${SCHEMATHESIS_VENV}`);
  rmSync(SCHEMATHESIS_VENV, { recursive: true, force: true });
  execFileSync('python3', ['-m', 'venv', SCHEMATHESIS_VENV], { stdio: 'inherit' });
  execFileSync(path.join(SCHEMATHESIS_VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`], { stdio: 'inherit' });
  writeFileSync(done, `${SCHEMATHESIS_VERSION}\n`);
}

/** The rustic the live rustic tests run (packages/engines/test/rustic.contract.test.ts); docs/engines.md "rustic". */
export const RUSTIC_VERSION = '0.11.4';
/** Where `cargo install` puts binaries; CI images often have cargo there without it being on PATH. */
export const CARGO_BIN = path.join(os.homedir(), '.cargo', 'bin');

/** Puts ~/.cargo/bin on this process's PATH (the tests and tools started from here inherit it). */
export function addCargoBinToPath() {
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  if (existsSync(CARGO_BIN) && !dirs.includes(CARGO_BIN)) process.env.PATH = [CARGO_BIN, ...dirs].join(path.delimiter);
}

/**
 * Installs rustic with `cargo install --locked rustic-rs --version RUSTIC_VERSION` when no rustic
 * is on PATH or in ~/.cargo/bin (cargo keeps it there, so this runs once per machine). It compiles
 * from source: 10 min 14 s wall on this project's shared 2-core dev machine (docs/engines.md). Without
 * cargo the rustic tests skip with a reason.
 */
export function ensureRustic() {
  addCargoBinToPath();
  if (have('rustic')) {
    const v = spawnSync('rustic', ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
    if (!v.includes(RUSTIC_VERSION)) log(`using ${v || 'rustic'} from PATH; the rustic engine is tested against ${RUSTIC_VERSION}`);
    return;
  }
  if (!have('cargo')) {
    log(`rustic is not installed and cargo was not found (on PATH or in ${CARGO_BIN}): the rustic tests are skipped. Install Rust (https://rustup.rs), then re-run setup.`);
    return;
  }
  log(`installing rustic ${RUSTIC_VERSION}: cargo install --locked rustic-rs --version ${RUSTIC_VERSION} (compiles from source, several minutes)`);
  const started = Date.now();
  const r = spawnSync('cargo', ['install', '--locked', 'rustic-rs', '--version', RUSTIC_VERSION], { stdio: 'inherit' });
  const took = `${Math.round((Date.now() - started) / 1000)} s`;
  if (r.status !== 0) {
    log(`cargo install rustic-rs failed after ${took} (exit ${r.status ?? r.signal}): the rustic tests are skipped`);
    return;
  }
  addCargoBinToPath();
  log(`installed rustic ${RUSTIC_VERSION} into ${CARGO_BIN} in ${took}`);
}

export function setup({ tools } = {}) {
  ensureDebianTools(tools);
  ensureNodeModules();
  if (!tools) {
    ensureSchemathesis();
    ensureRustic();
  }
  build();
}

if (import.meta.url === `file://${process.argv[1]}`) setup();
