import { spawn } from 'node:child_process';

/** How to reach the restic repository holding control-plane backups. */
export interface ResticTarget {
  /** Added to restic's environment: RESTIC_REPOSITORY, RESTIC_PASSWORD_FILE (from flags), backend keys (inherited). */
  env: Record<string, string>;
}

export const RESTIC_FLAGS = {
  repo: { type: 'string' },
  'password-file': { type: 'string' },
} as const;

export const RESTIC_HELP = `  --repo <location>        restic repository               [$RESTIC_REPOSITORY]
  --password-file <file>   its password      [$RESTIC_PASSWORD_FILE or $RESTIC_PASSWORD]
  (backend keys such as AWS_ACCESS_KEY_ID are read from the environment, as restic reads them)`;

/** The restic environment from flags over the inherited one; throws naming what is missing. */
export function resticTarget(v: { repo?: string | undefined; 'password-file'?: string | undefined }, env: NodeJS.ProcessEnv = process.env): ResticTarget | string {
  const out: Record<string, string> = {};
  if (v.repo) out.RESTIC_REPOSITORY = v.repo;
  if (v['password-file']) out.RESTIC_PASSWORD_FILE = v['password-file'];
  if (!out.RESTIC_REPOSITORY && !env.RESTIC_REPOSITORY && !env.RESTIC_REPOSITORY_FILE) return '--repo (or RESTIC_REPOSITORY) is required';
  if (!out.RESTIC_PASSWORD_FILE && !env.RESTIC_PASSWORD_FILE && !env.RESTIC_PASSWORD && !env.RESTIC_PASSWORD_COMMAND) return '--password-file (or RESTIC_PASSWORD_FILE / RESTIC_PASSWORD) is required';
  return { env: out };
}

export interface ResticResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs restic (`RM_RESTIC_BIN` or `restic` on PATH) with secrets only in its environment; output capped at 4 MiB. */
export function restic(t: ResticTarget, args: string[], cwd?: string): Promise<ResticResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.RM_RESTIC_BIN ?? 'restic', args, { cwd, env: { ...process.env, ...t.env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
