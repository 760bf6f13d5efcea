import { onTestFinished } from 'vitest';
import { FakeServer } from './fake-server.js';
import { fixture } from './fixture.js';
import type { Fixture } from './fixture.js';

/** A FakeServer (started with `opts`) that is closed when the current test finishes. */
export async function testServer(opts?: Parameters<typeof FakeServer.start>[0]): Promise<FakeServer> {
  const server = await FakeServer.start(opts);
  onTestFinished(() => server.close());
  return server;
}

/** An agent fixture enrolled on `serverUrl` whose agents are stopped and state dir removed when the current test finishes. */
export function testFixture(serverUrl: string, pin?: string): Fixture {
  const fx = fixture(serverUrl, pin);
  onTestFinished(() => fx.cleanup());
  return fx;
}
