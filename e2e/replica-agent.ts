import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';
import { AGENT_MAIN, eventually, runAgentCli } from './agent-harness.js';
import type { Api } from './agent-harness.js';

/**
 * The replica tests' host: added through `api` with a local repository under `dir`, a real agent
 * enrolled against `serverUrl` (state in `dir`/agent; 1 s heartbeat and reconnect), running until
 * the test kills it, and online as seen from `seenFrom` (another replica).
 */
export async function replicaHost(o: { api: Api; serverUrl: string; seenFrom: Api; dir: string; name: string; repoPassword: string }): Promise<{ hostId: string; agent: ChildProcess }> {
  const add = await o.api.req('POST', '/api/hosts', { name: o.name, repository: { url: path.join(o.dir, 'repo'), password: o.repoPassword, append_only: false } });
  expect(add.status, JSON.stringify(add.body)).toBe(201);
  const hostId = add.body.host_id as string;
  const agentDir = path.join(o.dir, 'agent');
  const enroll = await runAgentCli(['enroll', '--server', o.serverUrl, '--state-dir', agentDir], { RM_TOKEN: add.body.token as string });
  expect(enroll.code, enroll.err).toBe(0);
  const agent = spawn(process.execPath, [AGENT_MAIN, 'run', '--state-dir', agentDir], { env: { ...process.env, RM_AGENT_HEARTBEAT_MS: '1000', RM_AGENT_BACKOFF_MAX_MS: '1000' }, stdio: 'ignore' });
  await eventually(async () => (await o.seenFrom.req('GET', `/api/hosts/${hostId}`)).body.status === 'online', 20_000, 'host online (seen from another replica)');
  return { hostId, agent };
}

/** Tears a replica test down in order: the agent, each replica, PostgreSQL, the temp dir (each may be missing after a failed set-up). */
export async function stopReplicaStack(o: { agent: ChildProcess | null; replicas: ({ close(): Promise<void> } | undefined)[]; db?: { stop(): Promise<void> }; dir?: { cleanup(): Promise<void> } }): Promise<void> {
  o.agent?.kill('SIGKILL');
  for (const r of o.replicas) await r?.close();
  await o.db?.stop();
  await o.dir?.cleanup();
}
