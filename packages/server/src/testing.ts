/**
 * @restic-manager/server/testing — helpers for tests and benchmarks, kept out of the server's
 * production entry: FakeAgent, a protocol-level scripted agent.
 */
export { FakeAgent } from './testing/fake-agent.js';
export type { FakeAgentOptions } from './testing/fake-agent.js';
/** Minting replica tokens in tests of the internal routes (expired, for another path…). */
export { RelayTokens, RELAY_HEADER } from './cluster/relay-token.js';
export { REPLICA_DOWNLOAD_PATH } from './cluster/replica-download-client.js';
export { SecretBox } from './crypto/secret-box.js';
