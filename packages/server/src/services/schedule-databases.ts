import type { DatabaseTarget, DatabaseView } from '@restic-manager/protocol';

/** What the API and the audit log show of database targets: no password, only `has_password`. */
export function databaseViews(dbs: readonly DatabaseTarget[]): DatabaseView[] {
  return dbs.map(({ password, ...rest }) => ({ ...rest, has_password: typeof password === 'string' && password.length > 0 }));
}

const sameServer = (a: DatabaseTarget, b: DatabaseTarget): boolean =>
  a.engine === b.engine && a.host === b.host && a.port === b.port && a.user === b.user && a.container === b.container && a.run_as === b.run_as;

/**
 * An edited list keeps stored passwords the form could not show: an entry without a password
 * takes the stored one at the same position when it points at the same server as the same user.
 */
export function mergeDatabasePasswords(next: readonly DatabaseTarget[], stored: readonly DatabaseTarget[]): DatabaseTarget[] {
  return next.map((d, i) => {
    const old = stored[i];
    return d.password === undefined && old?.password !== undefined && sameServer(d, old) ? { ...d, password: old.password } : d;
  });
}

/** The subset of a host row that says what its agent can do. */
export interface AgentFacts {
  name: string;
  agent_version: string | null;
  agent_features: string | null;
  last_seen_at: string | null;
}

/** Whether the host's agent listed `feature` in `hello.features` at its last hello (stored as JSON). */
export function agentHasFeature(h: Pick<AgentFacts, 'agent_features'>, feature: string): boolean {
  if (!h.agent_features) return false;
  try {
    const f = JSON.parse(h.agent_features) as unknown;
    return Array.isArray(f) && f.includes(feature);
  } catch {
    return false;
  }
}

/** Whether the host's agent said, at its last hello, that it can dump databases. */
export function agentDumps(h: AgentFacts): boolean {
  return agentHasFeature(h, 'databases');
}

/**
 * Why database targets are refused for this host, or null: an agent that has connected but did
 * not announce `databases` at its last hello predates dumps. A host whose agent never connected is accepted (its
 * first hello decides; until then schedule.set disables such schedules for an older agent).
 */
export function databasesRefusal(h: AgentFacts): string | null {
  if (h.last_seen_at === null || agentDumps(h)) return null;
  return `the agent on ${h.name} (version ${h.agent_version ?? 'unknown'}) predates database dumps: upgrade the agent, then add databases`;
}
