import { spawn } from 'node:child_process';

/*
 * The restic child process of the control-plane backup and restore (`restic-manager server
 * backup | restore` and the Settings schedule run the same code): secrets only in its
 * environment, output capped.
 */

/** How to reach the restic repository holding control-plane backups. */
export interface ResticTarget {
  /** Added to restic's environment: RESTIC_REPOSITORY, RESTIC_PASSWORD(_FILE), backend keys. */
  env: Record<string, string>;
  /** Global flags put before the command (e.g. `--cacert <file>`); never a secret. */
  args?: string[];
}

export interface ResticResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs restic (`RM_RESTIC_BIN` or `restic` on PATH) with secrets only in its environment; output capped at 4 MiB. */
export function restic(t: ResticTarget, args: string[], cwd?: string): Promise<ResticResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.RM_RESTIC_BIN ?? 'restic', [...(t.args ?? []), ...args], { cwd, env: { ...process.env, ...t.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      if (stdout.length < 4 << 20) stdout += b.toString('utf8');
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 64 << 10) stderr += b.toString('utf8');
    });
    child.on('error', (e) => reject(new Error(`restic could not start: ${e.message}`)));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Like restic(), but throws with restic's last error lines when it fails. */
export async function resticOk(t: ResticTarget, args: string[], cwd?: string): Promise<string> {
  const r = await restic(t, args, cwd);
  if (r.code !== 0) throw new Error(`restic ${args[0] ?? ''} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 600)}`);
  return r.stdout;
}
