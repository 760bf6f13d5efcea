import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { createEngine } from '@restic-manager/engines';
import { makeCorpus, tempDir } from '@restic-manager/testkit';
import type { CorpusOptions, TempDir } from '@restic-manager/testkit';
import type { AgentOptions } from '@restic-manager/agent';
import { FakeServer } from './fake-server.js';
import { fixture } from './fixture.js';
import type { Fixture } from './fixture.js';

export interface ResticAgent {
  server: FakeServer;
  fx: Fixture;
  tmp: TempDir;
  /** The generated source tree. */
  src: string;
}

/**
 * A real agent with real restic against a fake server, for the file: a generated corpus, the
 * agent connected and configured with a local repository that an `init` job has created.
 * Everything is removed after the file's tests.
 */
export function useResticAgent(prefix: string, password: string, corpus: CorpusOptions, agent: Partial<AgentOptions> = {}): () => ResticAgent {
  let a: ResticAgent | undefined;
  beforeAll(async () => {
    const tmp = await tempDir(prefix);
    const src = path.join(tmp.path, 'src');
    await makeCorpus(src, corpus);
    const server = await FakeServer.start();
    const fx = fixture(server.url());
    a = { server, fx, tmp, src };
    await fx.start(createEngine('restic'), { progressIntervalMs: 500, ...agent });
    await server.waitFor((f) => f.type === 'hello');
    server.send({ type: 'config.update', repository: path.join(tmp.path, 'repo'), password });
    server.send({ type: 'command.run', job_id: 'init', kind: 'init', args: {} });
    expect(await server.waitFor((f) => f.job_id === 'init' && f.type === 'job.finished')).toMatchObject({ status: 'succeeded' });
  });
  afterAll(async () => {
    await a?.fx.cleanup();
    await a?.server.close();
    await a?.tmp.cleanup();
  });
  return () => a!;
}
