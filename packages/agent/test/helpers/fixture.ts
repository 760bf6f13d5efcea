import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, createLogger, newSecretsKey, statePaths, writeAgentConfig } from '@restic-manager/agent';
import type { AgentOptions, Logger } from '@restic-manager/agent';
import type { Engine } from '@restic-manager/engines';

export interface Fixture {
  dir: string;
  logs: string[];
  log: Logger;
  agents: Agent[];
  start(engine: Engine, extra?: Partial<AgentOptions>): Promise<Agent>;
  cleanup(): Promise<void>;
}

export const BEARER = 'bearer-0123456789abcdef0123456789abcdef';

/** A state dir enrolled against `serverUrl`, and a way to start agents on it with a captured log. */
export function fixture(serverUrl: string, pin?: string): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-agent-'));
  writeAgentConfig(statePaths(dir).config, { server_url: serverUrl, host_id: 'h1', bearer: BEARER, secrets_key: newSecretsKey(), ...(pin ? { cert_pin_sha256: pin } : {}) });
  const logs: string[] = [];
  const log = createLogger({ level: 'debug', write: (l) => logs.push(l) });
  const f: Fixture = {
    dir, logs, log, agents: [],
    async start(engine, extra = {}) {
      const a = await Agent.start({ stateDir: dir, engine: async () => engine, log, heartbeatMs: 200, backoff: { initialMs: 50, maxMs: 300 }, killGraceMs: 500, progressIntervalMs: 500, ...extra });
      f.agents.push(a);
      return a;
    },
    async cleanup() {
      for (const a of f.agents.splice(0)) await a.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    },
  };
  return f;
}

export async function until(pred: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
