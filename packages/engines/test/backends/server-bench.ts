import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** A storage server for the enclosing describe block and a client directory for its jobs (open's `root`). */
export interface ServerBench<S> {
  server: S;
  root: string;
}

/** Starts `start()` and makes the client directory before the block's tests; stops and removes both after them. */
export function useServerBench<S extends { stop(): Promise<void> }>(start: () => Promise<S>, clientPrefix: string): ServerBench<S> {
  const bench = {} as ServerBench<S>;
  beforeAll(async () => {
    bench.server = await start();
    bench.root = await mkdtemp(path.join(os.tmpdir(), clientPrefix));
  });
  afterAll(async () => {
    await bench.server?.stop();
    if (bench.root) await rm(bench.root, { recursive: true, force: true });
  });
  return bench;
}
