/**
 * @restic-manager/server/testing — helpers for tests and benchmarks, kept out of the server's
 * production entry: FakeAgent, a protocol-level scripted agent.
 */
export { FakeAgent } from './testing/fake-agent.js';
export type { FakeAgentOptions } from './testing/fake-agent.js';
