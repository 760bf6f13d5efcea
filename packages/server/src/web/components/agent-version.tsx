import type { AgentVersionStatus } from '../../services/agent-version.js';
import { agentVersionStatus } from '../../services/agent-version.js';
import { Badge } from './ui.js';

/** "agent N versions behind" / "up to date" (services/agent-version.ts defines what is counted); the title names the server's version. */
export function AgentVersionBadge(props: { status: AgentVersionStatus; server: string }) {
  const s = props.status;
  const title = `server ${props.server}: ${s.label}`;
  if (s.state === 'current') return <Badge tone="ok" plain title={title}>up to date</Badge>;
  if (s.state === 'behind' || s.state === 'major_behind') {
    return <span class="agent-behind" data-agent-behind={String(s.behind)}><Badge tone={s.state === 'major_behind' ? 'danger' : 'warn'} title={title}>{`agent ${s.label}`}</Badge></span>;
  }
  if (s.state === 'ahead') return <Badge tone="info" plain title={title}>newer than server</Badge>;
  return <Badge tone="neutral" plain title={title}>version unknown</Badge>;
}

/** The badge for a host's agent version against the server's. */
export const HostAgentBadge = (p: { version: string | null; server: string }) =>
  p.version ? <AgentVersionBadge status={agentVersionStatus(p.version, p.server)} server={p.server} /> : null;
