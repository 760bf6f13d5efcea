#!/usr/bin/env node
// `npm run test:robustness -- [--steps N] [--seed N] [--many N]`: builds, then runs the seeded
// robustness driver (e2e/robustness/) against the real server, agent and restic. The last line is
// `robustness: seed=N steps=N faults=N invariants=N violations=N`; the exit status is non-zero on
// a violation. Each violation prints the seed and step to replay. With --pause-file PATH the run
// waits between steps while PATH exists (everything settled), e.g. while CI needs the machine.
// With --checkpoint DIR the run keeps its directory there with a checkpoint after every step; run
// the same command again after it was stopped (or its session ended) and it goes on from there.
// --engine rustic runs the same walk with the host's repository on rustic (no copies: rustic has none).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const usage = 'usage: npm run test:robustness -- [--steps N] [--seed N] [--many N] [--sample-every N] [--full-every N] [--pause-file PATH] [--checkpoint DIR] [--engine restic|rustic]';

const opts = { steps: '200', seed: String(Date.now() % 100000), many: '100000', 'sample-every': '4', 'full-every': '10' };
let pauseFile = '';
let checkpoint = '';
let engine = '';
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const key = argv[i].replace(/^--/, '');
  if (key === 'help' || key === 'h') {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const value = argv[i + 1];
  if (key === 'engine' && (value === 'restic' || value === 'rustic')) {
    engine = value;
    i++;
    continue;
  }
  if ((key === 'pause-file' || key === 'checkpoint') && value && !value.startsWith('--')) {
    if (key === 'pause-file') pauseFile = path.resolve(value);
    else checkpoint = path.resolve(value);
    i++;
    continue;
  }
  if (!(key in opts) || !/^\d+$/.test(value ?? '')) {
    process.stderr.write(`${usage}\n`);
    process.exit(2);
  }
  opts[key] = value;
  i++;
}

process.stderr.write(`== build (tsc -b)\n`);
const build = spawnSync(bin('tsc'), ['-b'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const dir = mkdtempSync(path.join(os.tmpdir(), 'rm-robustness-result-'));
const result = path.join(dir, 'result.txt');
process.stderr.write(`== robustness: seed ${opts.seed}, ${opts.steps} steps (replay with --seed ${opts.seed} --steps ${opts.steps})\n`);
const r = spawnSync(bin('vitest'), ['run', 'e2e/robustness.test.ts', '--reporter', 'dot'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    RM_ROBUSTNESS_SEED: opts.seed, RM_ROBUSTNESS_STEPS: opts.steps, RM_ROBUSTNESS_MANY: opts.many,
    RM_ROBUSTNESS_SAMPLE_EVERY: opts['sample-every'], RM_ROBUSTNESS_FULL_EVERY: opts['full-every'], RM_ROBUSTNESS_RESULT: result, RM_ROBUSTNESS_ALL_FAULTS: '1', RM_ROBUSTNESS_JOB_TIMEOUT_MS: '900000',
    ...(pauseFile ? { RM_ROBUSTNESS_PAUSE_FILE: pauseFile } : {}),
    ...(checkpoint ? { RM_ROBUSTNESS_CHECKPOINT: checkpoint } : {}),
    ...(engine ? { RM_ROBUSTNESS_ENGINE: engine } : {}),
    // a generous bound: the driver's own per-job bounds catch a stuck job long before this
    RM_ROBUSTNESS_TIMEOUT_MS: String(Math.max(600_000, Number(opts.steps) * 120_000)),
  },
});
const lines = existsSync(result) ? readFileSync(result, 'utf8').trim().split('\n') : [];
rmSync(dir, { recursive: true, force: true });
const last = lines.pop();
for (const l of lines) process.stdout.write(`${l}\n`);
if (!last) {
  process.stdout.write(`robustness: seed=${opts.seed} steps=0 faults=0 invariants=0 violations=1\n`);
  process.exit(r.status || 1);
}
process.stdout.write(`${last}\n`);
process.exit(/violations=0$/.test(last) && r.status === 0 ? 0 : 1);
