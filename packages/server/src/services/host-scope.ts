import type { AuditService } from './audit.service.js';
import { sessionActor } from './auth.service.js';
import type { SessionInfo } from './auth.service.js';
import type { ServiceDeps } from './context.js';
import { RecentOnce } from './recent-once.js';
import { DomainError } from './errors.js';
import { tagsInScope } from './scope-tags.js';
import type { Scope } from './scope-tags.js';

/** Refusal audit rows are written at most once per this window per (who, reason, path). */
export const SCOPE_DENIAL_WINDOW_MS = 60_000;

/** What a refused request was, for its audit row. */
export interface ScopeUse {
  method: string;
  path: string;
  ip: string;
}

/**
 * The one host-tag scope check (issue 21, docs/server.md "Roles and scopes"), used for API
 * tokens and signed-in users alike: `session.scope` is the effective scope (the user's, narrowed
 * by the token's). Unknown hosts, jobs, schedules and alerts pass — the route then answers 404 —
 * so the check never says whether an id exists outside the scope.
 */
export class HostScope {
  private readonly refusals: RecentOnce;

  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
  ) {
    this.refusals = new RecentOnce(d.now, SCOPE_DENIAL_WINDOW_MS);
  }

  async hostInScope(session: Pick<SessionInfo, 'scope'> | undefined, hostId: string): Promise<boolean> {
    const scope = session?.scope ?? null;
    if (scope === null) return true;
    const host = await this.d.repos.hosts.findById(hostId);
    return !host || tagsInScope(scope, JSON.parse(host.tags) as string[]);
  }

  async jobInScope(session: Pick<SessionInfo, 'scope'> | undefined, jobId: string): Promise<boolean> {
    if (!session?.scope) return true;
    const job = await this.d.repos.jobs.findById(jobId);
    return !job || this.hostInScope(session, job.host_id);
  }

  async scheduleInScope(session: Pick<SessionInfo, 'scope'> | undefined, scheduleId: string): Promise<boolean> {
    if (!session?.scope) return true;
    const s = await this.d.repos.schedules.findById(scheduleId);
    return !s || this.hostInScope(session, s.host_id);
  }

  /** An alert without a host (fleet-wide, e.g. the control-plane backup) is outside every scope. */
  async alertInScope(session: Pick<SessionInfo, 'scope'> | undefined, alertId: string): Promise<boolean> {
    if (!session?.scope) return true;
    const a = await this.d.repos.alerts.findById(alertId);
    if (!a) return true;
    return a.host_id ? this.hostInScope(session, a.host_id) : false;
  }

  /**
   * A scoped caller replacing a host's tags may neither move the host out of its own scope (the
   * new tags must keep one of its scope tags) nor share it with another scope (a tag outside its
   * scope that the host does not carry yet). Throws `forbidden` naming `tags`.
   */
  async checkTagChange(session: Pick<SessionInfo, 'scope'> | undefined, hostId: string, tags: string[]): Promise<void> {
    const scope = session?.scope ?? null;
    if (scope === null) return;
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) return;
    const had = JSON.parse(host.tags) as string[];
    const added = tags.filter((t) => !had.includes(t) && !scope.includes(t));
    const fail = (why: string) => {
      throw new DomainError('forbidden', `tags: ${why}`, { tags: why });
    };
    if (!tagsInScope(scope, tags)) fail(`keep at least one of your scope tags (${scope.join(', ')}) on the host, or it leaves your scope`);
    if (added.length > 0) fail(`you may add only tags within your scope (${scope.join(', ')}); ${added.join(', ')} ${added.length === 1 ? 'is' : 'are'} outside it`);
  }

  /**
   * Hosts named inside a request body (`source_host_id`, `target_host_id`, `drill_host_id`, any
   * `*host_id` key at any depth up to 8): the first one outside the scope as "field: id", else
   * null. The path names one host; a body may name others (cross-host restore, drills), and each
   * must be in scope too.
   */
  async bodyHostOutOfScope(session: Pick<SessionInfo, 'scope'> | undefined, body: unknown): Promise<string | null> {
    if (!session?.scope) return null;
    const found: [string, string][] = [];
    const walk = (v: unknown, depth: number) => {
      if (depth > 8 || found.length > 64 || v === null || typeof v !== 'object') return;
      for (const [k, x] of Object.entries(v)) {
        if (/host_id$/.test(k) && typeof x === 'string' && x !== '') found.push([k, x]);
        else if (/host_id$/.test(k) && Array.isArray(x)) for (const y of x.slice(0, 64)) if (typeof y === 'string' && y !== '') found.push([k, y]);
        else walk(x, depth + 1);
      }
    };
    walk(body, 0);
    for (const [k, id] of found) if (!(await this.hostInScope(session, id))) return `${k}: host ${id}`;
    return null;
  }

  /** The ids of the hosts inside `scope` (for filtering lists); undefined = every host (no filter). */
  async hostIds(scope: Scope | undefined): Promise<string[] | undefined> {
    if (!scope) return undefined;
    return (await this.d.repos.hosts.list({ anyTag: scope }, 100_000, 0)).rows.map((h) => h.id);
  }

  /** The refusal message a scoped caller sees. */
  static describe(session: SessionInfo): string {
    const tags = session.scope?.length ? session.scope.join(', ') : '(no tag in common with its account)';
    return session.token ? `this token is limited to hosts tagged ${tags}` : `your account is limited to hosts tagged ${tags}`;
  }

  /**
   * Audits a request refused for its scope (or, for a token, its role or a session-only route):
   * `token.denied` for tokens, `scope.denied` for signed-in users; at most once a minute per
   * (who, reason, path), so a script hammering a refused route cannot flood the log.
   */
  async denied(session: SessionInfo, use: ScopeUse, reason: string): Promise<void> {
    const who = session.token?.id ?? session.user.id;
    if (!this.refusals.first(`${who}|${reason}|${use.path}`)) return;
    const target = session.token ? { kind: 'api_token', id: session.token.id } : { kind: 'user', id: session.user.id };
    await this.audit.record(sessionActor(session), session.token ? 'token.denied' : 'scope.denied', target, {
      method: use.method, path: use.path.slice(0, 256), reason, ip: use.ip, ...(session.scope ? { scope_tags: session.scope } : {}),
    });
  }
}
