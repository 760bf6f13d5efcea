import type { ErrorKind } from '@restic-manager/protocol';

/** How one job ended, before hooks adjust it. */
export interface Outcome {
  status: 'succeeded' | 'failed' | 'cancelled';
  exitCode: number | null;
  stats: Record<string, unknown> | null;
  error: string | null;
  errorKind: ErrorKind | null;
}

/** Extra reports a job produces besides its own frames (snapshots.report, repo.stats). */
export interface Extras {
  snapshots?: boolean;
  stats?: boolean;
}
