import type { AgentEventsService } from './agent-events.service.js';
import { SERVER_VERSION } from '../version.js';
import type { AgentVersionStatus } from './agent-version.js';
import { agentVersionStatus, isOutdated } from './agent-version.js';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { DomainError, notFound } from './errors.js';

/** Agent versions against the server's (services/agent-version.ts says what is counted) and the update notice. */
export class AgentVersionService {
  readonly serverVersion = SERVER_VERSION;

  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly events: AgentEventsService,
  ) {}

  status(agentVersion: string | null | undefined): AgentVersionStatus {
    return agentVersionStatus(agentVersion, this.serverVersion);
  }

  /** Fleet summary from `version -> hosts` counts: enrolled agents, outdated ones, and the versions seen. */
  summarise(versions: { version: string; hosts: number }[]): { agents: number; outdated: number; versions: { version: string; hosts: number; status: AgentVersionStatus }[] } {
    const rows = versions.map((v) => ({ ...v, status: this.status(v.version) }));
    return {
      agents: rows.reduce((a, r) => a + r.hosts, 0),
      outdated: rows.filter((r) => isOutdated(r.status)).reduce((a, r) => a + r.hosts, 0),
      versions: rows,
    };
  }

  /**
   * Sends `agent.update.available` (informational: the agent logs it; upgrading is the OS
   * package manager's job, `restic-manager-agent update`). Defaults: the server's version and
   * the server's install script as the source. Audited whether or not it was delivered;
   * throws not_found for an unknown host and invalid_state when the agent is offline.
   */
  async requestUpdate(actor: Actor, hostId: string, o: { version?: string | undefined; url?: string | undefined } = {}): Promise<{ sent: boolean; version: string }> {
    if (!(await this.d.repos.hosts.findById(hostId))) throw notFound('host', hostId);
    const version = o.version ?? this.serverVersion;
    const url = o.url ?? `${this.d.baseUrl()}/install/install.sh`;
    const sent = this.events.notifyUpdate(hostId, version, url);
    await this.audit.record(actor, 'agent.command.update.available', { kind: 'host', id: hostId }, { version, sent });
    if (!sent) throw new DomainError('invalid_state', 'the agent is offline: it is told about the update when an admin asks again while it is connected');
    return { sent, version };
  }
}
