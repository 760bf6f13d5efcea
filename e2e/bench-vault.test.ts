/**
 * `npm run bench:vault` on a tiny corpus: the benchmark a fresh clone ships must run and print
 * every figure issue 7 asks for. Only that it runs and what it prints are checked here —
 * speed and memory are judged by the benchmark itself on its 1 GB corpus, never in a test.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, tempDir, type TempDir } from '@restic-manager/testkit';

const root = fileURLToPath(new URL('..', import.meta.url));

const FIGURES = [
  'vault_backup_speedup', 'vault_rescan_speedup', 'vault_size_ratio', 'vault_peak_rss_mb', 'restic_peak_rss_mb',
  'age_encrypt_speedup_vs_typage', 'vault_fetch_overhead', 'restic_backup_s', 'vault_backup_s', 'vault_repo_bytes', 'restic_repo_bytes',
];

describe('bench:vault on a small corpus', () => {
  let t: TempDir;
  let figures: Map<string, number>;
  let stdout = '';
  beforeAll(async () => {
    requireTool('restic');
    t = await tempDir('rm-bench-vault-');
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/run-bench.mjs'), 'vault'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, VAULT_BENCH_DATA: t.path, VAULT_BENCH_BYTES: '6000000', VAULT_BENCH_FILES: '40', VAULT_BENCH_AGE_MB: '4' },
      timeout: 240_000,
    });
    stdout = r.stdout;
    expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
    figures = new Map(stdout.trim().split('\n').filter((l) => /^[a-z_]+=/.test(l)).map((l) => {
      const [k, v] = l.split('=') as [string, string];
      return [k, Number(v)];
    }));
  }, 300_000);
  afterAll(async () => {
    await t?.cleanup();
  });

  it('prints every figure as a finite name=value line', () => {
    for (const name of FIGURES) {
      expect(figures.has(name), `${name} missing from:\n${stdout}`).toBe(true);
      expect(Number.isFinite(figures.get(name)), `${name}=${figures.get(name)}`).toBe(true);
    }
  });

  it('the ratios are the quotients of the printed raw figures', () => {
    const f = (k: string): number => figures.get(k)!;
    expect(f('vault_backup_speedup')).toBeCloseTo(f('restic_backup_s') / f('vault_backup_s'), 1);
    expect(f('vault_size_ratio')).toBeCloseTo(f('vault_repo_bytes') / f('restic_repo_bytes'), 2);
    expect(f('vault_repo_bytes')).toBeGreaterThan(0);
    expect(f('restic_repo_bytes')).toBeGreaterThan(0);
  });
});
