import fs from 'node:fs';
import { writeFileAtomic } from './atomic.js';

/** status.json: written by the running agent, read by `health-check`. */
export interface AgentStatus {
  pid: number;
  state: string;
  /** Why the last connection attempt failed, if it did. */
  reason: string | null;
  connected_since: string | null;
  disconnected_since: string | null;
  /** Seconds a disconnected agent still counts as healthy. */
  reconnect_budget_s: number;
  running_jobs: number;
  queued_reports: number;
  updated_at: string;
}

export function writeStatus(file: string, s: AgentStatus): void {
  writeFileAtomic(file, JSON.stringify(s, null, 2) + '\n');
}

export function readStatus(file: string): AgentStatus | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as AgentStatus;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Health verdict: healthy when connected, or disconnected for less than the reconnect budget. */
export function judgeHealth(s: AgentStatus | null, now = Date.now()): { healthy: boolean; reason: string } {
  if (!s) return { healthy: false, reason: 'no status file: the agent is not running (start it with `restic-manager-agent run`)' };
  if (!alive(s.pid)) return { healthy: false, reason: `the agent (pid ${s.pid}) is not running` };
  if (s.state === 'ready') return { healthy: true, reason: 'connected to the server' };
  if (s.state === 'refused') return { healthy: false, reason: `the server refused this agent: ${s.reason ?? 'unknown reason'}` };
  const since = s.disconnected_since ? Date.parse(s.disconnected_since) : now;
  const secs = Math.round((now - since) / 1000);
  if (secs <= s.reconnect_budget_s) return { healthy: true, reason: `reconnecting for ${secs}s (budget ${s.reconnect_budget_s}s)` };
  return { healthy: false, reason: `not connected for ${secs}s (budget ${s.reconnect_budget_s}s): ${s.reason ?? 'server unreachable'}` };
}
