import type { ServerMessage } from '@restic-manager/protocol';
import type { FakeAgent, FakeAgentOptions } from '@restic-manager/server/testing';
import { afterAll, beforeAll } from 'vitest';
import type { Harness } from './harness.js';
import { enrolledAgent } from './harness.js';

/** The enrolled host of a describe block, set once its beforeAll has run. */
export interface ConnectedAgent {
  agent: FakeAgent;
  hostId: string;
  /** The server's hello to it. */
  hello: ServerMessage;
}

export interface ConnectedAgentOptions {
  /** `hello.features` the agent announces. */
  features?: string[];
  /** Answers the server's requests (set before the agent connects). */
  onMessage?: FakeAgentOptions['onMessage'];
  /** Wait for the first config.update after connecting (default true). */
  configured?: boolean;
}

/**
 * For the enclosing describe block (after its useHarness): adds host `name` with `repository` on
 * `h`, enrolls a FakeAgent for it and connects it before the tests; closes it after them.
 */
export function useConnectedAgent(h: Harness, name: string, repository: Record<string, unknown>, opts: ConnectedAgentOptions = {}): ConnectedAgent {
  const host = {} as ConnectedAgent;
  beforeAll(async () => {
    Object.assign(host, await enrolledAgent(h, name, repository, opts.features));
    if (opts.onMessage) host.agent.o.onMessage = opts.onMessage;
    host.hello = await host.agent.connect();
    if (opts.configured ?? true) await host.agent.next('config.update');
  });
  afterAll(async () => host.agent?.close());
  return host;
}
