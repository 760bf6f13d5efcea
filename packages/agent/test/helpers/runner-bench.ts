import { afterEach } from 'vitest';
import { JobRunner, createLogger } from '@restic-manager/agent';
import type { Engine } from '@restic-manager/engines';
import { tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';

export type Frame = Record<string, unknown>;

/** A runner that runnerBench started, with every frame it emitted and every line it logged. */
export interface BenchRunner {
  runner: JobRunner;
  frames: Frame[];
  logs: string[];
}

/**
 * Starts JobRunners for the calling test file, each over `engine` with the credential `secrets`
 * and its active-jobs file in a fresh temp dir (`prefix`); after each test every runner is shut
 * down and its dir removed.
 */
export function runnerBench(prefix: string, secrets: { repository: string; password: string }): (engine: Engine, lockRefreshMs?: number) => Promise<BenchRunner> {
  const started: { runner: JobRunner; dir: TempDir }[] = [];
  afterEach(async () => {
    for (const s of started.splice(0)) {
      await s.runner.shutdown();
      await s.dir.cleanup();
    }
  });
  return async (engine, lockRefreshMs = 0) => {
    const dir = await tempDir(prefix);
    const frames: Frame[] = [];
    const logs: string[] = [];
    const runner = new JobRunner({
      engine: () => Promise.resolve(engine), emit: (f) => void frames.push(f), secrets: () => secrets,
      activeJobsFile: `${dir.path}/active-jobs.json`, log: createLogger({ write: (l: string) => void logs.push(l) }), lockRefreshMs,
    });
    started.push({ runner, dir });
    return { runner, frames, logs };
  };
}
