import { afterAll, beforeAll } from 'vitest';
import { mariadbImage, postgresImage, startDockerEngine, tempDir } from '@restic-manager/testkit';
import type { DockerEngine, TempDir } from '@restic-manager/testkit';

/** A private Docker engine with a database image for one test file (packages/testkit/src/docker.ts). */
export interface DockerBench {
  /** The engine; null when it could not start here (then `skipReason` says why). */
  dk: DockerEngine | null;
  tmp: TempDir;
  skipReason: string;
  /** Skips the calling test, with the reason, when the engine or its image is not there. */
  ready(ctx: { skip: (note?: string) => void }): void;
}

/**
 * Registers beforeAll/afterAll for a file: a temp dir, a private dockerd, the `image` imported (built
 * once and cached when missing; the build time is logged), DOCKER_HOST pointed at the engine, then
 * `setup`. Afterwards the engine stops, the temp dir goes and the environment `restoreEnv` names is
 * put back as it was.
 */
export function useDockerBench(o: { prefix: string; image: 'postgres' | 'mariadb'; what: string; restoreEnv?: string[]; setup?: (dk: DockerEngine, tmp: TempDir) => Promise<void> | void }): DockerBench {
  const saved = Object.fromEntries((o.restoreEnv ?? []).map((k) => [k, process.env[k]]));
  const bench: DockerBench = {
    dk: null,
    tmp: undefined as unknown as TempDir,
    skipReason: '',
    ready(ctx) {
      if (!bench.dk || bench.skipReason) ctx.skip(bench.skipReason || 'no Docker engine');
    },
  };
  const skip = (reason: string): void => {
    bench.skipReason = reason;
    console.warn(`skipping ${o.what}: ${reason}`);
  };
  beforeAll(async () => {
    bench.tmp = await tempDir(o.prefix);
    const started = await startDockerEngine();
    if (!started.ok) return skip(started.reason);
    const dk = started.value;
    bench.dk = dk;
    const img = await (o.image === 'postgres' ? postgresImage(dk) : mariadbImage(dk));
    if (!img.ok) return skip(img.reason);
    if (img.value.builtSeconds !== null) console.log(`built the ${o.image} root filesystem in ${img.value.builtSeconds} s (cached at ${img.value.tarball})`);
    if (o.restoreEnv?.includes('DOCKER_HOST')) process.env.DOCKER_HOST = dk.host;
    await o.setup?.(dk, bench.tmp);
  }, 600_000);
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await bench.dk?.stop();
    await bench.tmp?.cleanup();
  }, 120_000);
  return bench;
}
