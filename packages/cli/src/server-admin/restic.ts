import type { ResticTarget } from '@restic-manager/server/controlplane';

/* The restic flags of `server backup | restore`; the runner itself is the server's (one copy). */

export const RESTIC_FLAGS = {
  repo: { type: 'string' },
  'password-file': { type: 'string' },
} as const;

export const RESTIC_HELP = `  --repo <location>        restic repository               [$RESTIC_REPOSITORY]
  --password-file <file>   its password      [$RESTIC_PASSWORD_FILE or $RESTIC_PASSWORD]
  (backend keys such as AWS_ACCESS_KEY_ID are read from the environment, as restic reads them)`;

/** The restic environment from flags over the inherited one; a string names what is missing. */
export function resticTarget(v: { repo?: string | undefined; 'password-file'?: string | undefined }, env: NodeJS.ProcessEnv = process.env): ResticTarget | string {
  const out: Record<string, string> = {};
  if (v.repo) out.RESTIC_REPOSITORY = v.repo;
  if (v['password-file']) out.RESTIC_PASSWORD_FILE = v['password-file'];
  if (!out.RESTIC_REPOSITORY && !env.RESTIC_REPOSITORY && !env.RESTIC_REPOSITORY_FILE) return '--repo (or RESTIC_REPOSITORY) is required';
  if (!out.RESTIC_PASSWORD_FILE && !env.RESTIC_PASSWORD_FILE && !env.RESTIC_PASSWORD && !env.RESTIC_PASSWORD_COMMAND) return '--password-file (or RESTIC_PASSWORD_FILE / RESTIC_PASSWORD) is required';
  return { env: out };
}
