import type { Context, Hono } from 'hono';
import { AlertKind, AuditQuery, HostListQuery, JobListQuery, MIN_AGENT_PROTOCOL_VERSION, PROTOCOL_VERSION, SnapshotQuery, isTerminal } from '@restic-manager/protocol';
import type { AppEnv } from '../http/auth.middleware.js';
import { DomainError } from '../services/errors.js';
import { AddHostPage, AppendOnlyField, EnrollWatch } from './pages/add-host.js';
import { AuditPage } from './pages/audit.js';
import { DashboardPage, FleetSummary, HostTable } from './pages/dashboard.js';
import type { FleetData, HostListData } from './pages/dashboard.js';
import { JobsTab, RepoTab, SchedulesTab, SettingsTab, SnapshotsTab } from './pages/host-tabs.js';
import { canOperate, isAdmin } from './components/layout.js';
import { VaultCard } from './pages/vault-card.js';
import { VaultSettingsCard } from './pages/vault-settings.js';
import { VaultDrillTrustCard } from './pages/vault-drill-trust.js';
import type { HostTab } from './pages/host.js';
import { HostPage } from './pages/host.js';
import { RepoTrendsCard } from './pages/repo-trends.js';
import { JobPage, JobSummary } from './pages/job.js';
import type { JobPageData } from './pages/job.js';
import { AlertsPage, JobsPage, ReposPage } from './pages/lists.js';
import { AlertRulesCard, ChannelsCard } from './pages/notifications.js';
import { SettingsPage } from './pages/settings.js';
import { ControlPlaneBackupCard } from './pages/control-plane-backup.js';
import { TagWindowsCard } from './pages/tag-windows.js';
import { CapsCard } from './pages/queue.js';
import { HostHooksCard, HostTimeZoneCard, MaintenanceCard, OverdueCard, ScheduleEditor } from './pages/schedule-editor.js';
import { LocksCard } from './pages/repo-locks.js';
import { HostRepositoriesCard } from './pages/repositories.js';
import { FleetCopyCard, HostCopyStatusCard } from './pages/copies.js';
import { FleetDrillCard } from './pages/restore-drill.js';
import { overdueItems } from './schedule.routes.js';
import type { WebCtx } from './web-context.js';
import { actorOf, baseUrlOf, guard, viewerOf } from './web-context.js';
import { scopeOf } from './scope.js';

const LOG_PAGE = 500;

/** Parses a query with a REST schema; an invalid query falls back to the defaults (pages never 400). */
function query<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, c: Context, fallback: unknown = {}): T {
  const q = Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v !== ''));
  for (const k of ['since', 'until']) if (q[k] && /^\d{4}-\d{2}-\d{2}$/.test(q[k])) q[k] = `${q[k]}T00:00:00Z`;
  const r = schema.safeParse(q);
  if (r.success) return r.data;
  const f = schema.safeParse(fallback);
  if (f.success) return f.data;
  throw new DomainError('validation_failed', 'invalid query');
}

/** GET pages and the partials they poll. */
export function mountPages(app: Hono<AppEnv>, w: WebCtx): void {
  const s = w.services;

  async function fleet(c: Context<AppEnv>): Promise<FleetData> {
    const scope = scopeOf(c);
    // A scoped user's dashboard counts only their hosts (web/scope.ts); fleet-wide cards are left out.
    if (scope) return { ...(await s.fleet.summary(scope)), jobs_24h: await jobsSince(await s.scope.hostIds(scope)) };
    const [summary, jobs24h, versions, trend] = await Promise.all([
      s.fleet.summary(), w.read.jobsByStatusSince(new Date(Date.now() - 86_400_000).toISOString()), w.read.agentVersions(),
      s.trends.fleetTrends({ since: new Date(Date.now() - 90 * 86_400_000).toISOString() }),
    ]);
    return { ...summary, jobs_24h: jobs24h, agents: { ...s.agentVersions.summarise(versions), server_version: w.version }, size_trend: trend.points };
  }
  /** Jobs of the last 24 hours by status, of the given hosts only. */
  async function jobsSince(hostIds: string[] | undefined): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const page = await s.jobs.list({ since: new Date(Date.now() - 86_400_000).toISOString(), host_ids: hostIds }, 'desc', 500, 0);
    for (const j of page.items) out[j.status] = (out[j.status] ?? 0) + 1;
    return out;
  }
  async function hostList(c: Context<AppEnv>): Promise<HostListData> {
    const q = query(HostListQuery, c);
    const scope = scopeOf(c);
    const inScope = async () => [...new Set((await s.hosts.list({ anyTag: scope ?? [] }, 500, 0)).items.flatMap((h) => h.tags))].sort();
    const [page, tags] = await Promise.all([s.hosts.list({ tag: q.tag, status: q.status, anyTag: scope ?? undefined }, Math.min(q.limit, 100), q.offset), scope ? inScope() : w.read.tags()]);
    return { ...page, filter: { tag: q.tag, status: q.status }, tags };
  }

  app.get('/', guard(), async (c) => {
    const ids = await s.scope.hostIds(scopeOf(c));
    const mine = (hostId: string | null) => !ids || (hostId !== null && ids.includes(hostId));
    const drills = await s.drills.fleet();
    const scopedDrills = ids ? { hosts: drills.hosts.filter((h) => mine(h.host_id)), vault_unproven: [] } : drills;
    return c.html(<DashboardPage viewer={viewerOf(c)} fleet={await fleet(c)} hosts={await hostList(c)} overdue={<OverdueCard items={(await overdueItems(s, w)).filter((i) => mine(i.host_id))} />} copies={<><FleetCopyCard items={(await s.copyStatus.allHosts()).filter((i) => mine(i.host_id))} /><FleetDrillCard fleet={scopedDrills} /></>} />);
  });
  app.get('/partials/fleet', guard(), async (c) => c.html(<FleetSummary fleet={await fleet(c)} />));
  app.get('/partials/hosts', guard(), async (c) => c.html(<HostTable viewer={viewerOf(c)} hosts={await hostList(c)} serverVersion={w.version} />));

  app.get('/hosts/new', guard('admin'), (c) => c.html(<AddHostPage viewer={viewerOf(c)} />));
  app.get('/partials/add-host/append-only', guard('admin'), (c) =>
    c.html(<AppendOnlyField url={c.req.query('repository.url') ?? ''} restUsername={c.req.query('repository.rest_username') ?? ''} />));
  app.get('/partials/enroll/:id', guard('admin'), async (c) => {
    const host = await s.hosts.get(c.req.param('id'));
    return c.html(<EnrollWatch hostId={host.id} host={host} />);
  });

  /** Enrolled hosts (where a restore drill may run). */
  const enrolledHosts = async (c: Context<AppEnv>) => (await s.hosts.list({ anyTag: scopeOf(c) ?? undefined }, 500, 0)).items.filter((h) => h.enrolled_at).map((h) => ({ id: h.id, name: h.name }));

  /** The host's vault target, or null when it has none. */
  const vaultOf = (id: string) => s.vaults.get(id).catch((e: unknown) => {
    if (e instanceof DomainError && e.code === 'not_found') return null;
    throw e;
  });
  const hostTab = async (c: Context<AppEnv>, tab: HostTab) => {
    const id = c.req.param('id') ?? '';
    const viewer = viewerOf(c);
    const host = await s.hosts.get(id);
    const u = new URL(c.req.url);
    const self = u.pathname + u.search;
    let body;
    if (tab === 'snapshots') {
      const q = query(SnapshotQuery, c);
      const page = await s.fleet.snapshots(id, { tag: q.tag, path: q.path, since: q.since, until: q.until }, Math.min(q.limit, 100), q.offset);
      const snaps = <SnapshotsTab host={host} self={self} viewer={viewer} snapshots={{ ...page, filter: { tag: q.tag, path: q.path, since: q.since, until: q.until } }} />;
      const vault = await vaultOf(id);
      body = vault ? <div class="stack">{snaps}<VaultCard hostId={id} vault={vault} viewer={viewer} defaultPaths={await w.read.defaultBackupPaths(id)} /></div> : snaps;
    } else if (tab === 'jobs') {
      const q = query(JobListQuery, c);
      const page = await s.jobs.list({ host_id: id, kind: q.kind, status: q.status }, 'desc', Math.min(q.limit, 100), q.offset);
      body = <JobsTab host={host} self={self} jobs={{ ...page, filter: { kind: q.kind, status: q.status } }} />;
    } else if (tab === 'repo') {
      const repo = host.repo_id ? await s.hosts.repo(host.repo_id) : null;
      const linked = (await s.repositories.forHost(id)).items;
      const all = isAdmin(viewer) ? (await s.repositories.list(500, 0)).items : [];
      const copyStatus = await s.copyStatus.forHost(id);
      const repoNames = await s.copyStatus.repositoryNames(copyStatus.items.flatMap((i) => [i.source_repository_id, i.target_repository_id]));
      body = <div class="stack"><HostRepositoriesCard hostId={id} viewer={viewer} items={linked} all={all} /><HostCopyStatusCard status={copyStatus} repoNames={repoNames} /><RepoTab repo={repo} /><LocksCard hostId={id} viewer={viewer} repo={repo} /><RepoTrendsCard trends={await s.trends.hostTrends(id, {})} /><MaintenanceCard hostId={id} viewer={viewer} status={await s.maintenance.credentialStatus(id)} /></div>;
    } else if (tab === 'schedules') {
      const items = (await s.schedules.list(id)).items;
      const editId = c.req.query('edit');
      const editing = editId ? items.find((i) => i.id === editId) : undefined;
      if (editId && !editing) throw new DomainError('not_found', `schedule ${editId} is not one of this host's schedules`);
      body = <div class="stack"><SchedulesTab host={host} schedules={items} /><ScheduleEditor hostId={id} viewer={viewer} schedules={items} editing={editing ?? null} hostTimeZone={host.time_zone ?? null} discovered={await s.hosts.discoveredDatabases(id)} repositories={(await s.repositories.forHost(id)).items.map((i) => ({ id: i.repository.id, name: i.repository.name, primary: i.primary }))} drillHosts={await enrolledHosts(c)} /></div>;
    } else {
      const hooks = await s.maintenance.hostHooks(id);
      const vault = isAdmin(viewer) ? await vaultOf(id) : null;
      body = <div class="stack"><SettingsTab viewer={viewer} host={host} /><HostTimeZoneCard hostId={id} viewer={viewer} timeZone={host.time_zone ?? null} /><HostHooksCard hostId={id} viewer={viewer} has={{ pre: hooks.pre_hook !== null, post: hooks.post_hook !== null }} /><VaultSettingsCard hostId={id} viewer={viewer} vault={vault} />{isAdmin(viewer) ? <VaultDrillTrustCard hostId={id} viewer={viewer} trust={await s.vaultDrills.trust(id)} /> : null}</div>;
    }
    const defaults = await w.read.defaultBackupPaths(id);
    const drill = await s.drills.summary(id);
    const drillHosts = canOperate(viewer) ? await enrolledHosts(c) : [];
    return c.html(<HostPage viewer={viewer} host={host} tab={tab} defaultPaths={defaults} self={self} serverVersion={w.version} drill={drill} drillHosts={drillHosts}>{body}</HostPage>);
  };
  app.get('/hosts/:id', guard(), (c) => hostTab(c, 'snapshots'));
  for (const tab of ['jobs', 'repo', 'schedules', 'settings'] as const) app.get(`/hosts/:id/${tab}`, guard(), (c) => hostTab(c, tab));

  app.get('/jobs', guard(), async (c) => {
    const q = query(JobListQuery, c);
    const page = await s.jobs.list({ kind: q.kind, status: q.status, host_ids: await s.scope.hostIds(scopeOf(c)) }, 'desc', Math.min(q.limit, 100), q.offset);
    const names = await w.read.hostNames(page.items.map((j) => j.host_id));
    const u = new URL(c.req.url);
    return c.html(<JobsPage viewer={viewerOf(c)} jobs={{ ...page, filter: { kind: q.kind, status: q.status } }} hostNames={names} self={u.pathname + u.search} />);
  });

  app.get('/jobs/:id', guard(), async (c) => {
    const job = await s.jobs.get(c.req.param('id'));
    const host = await s.hosts.get(job.host_id).catch(() => null);
    const afterRaw = Number(c.req.query('after_seq') ?? '-1');
    const after = Number.isInteger(afterRaw) && afterRaw >= -1 ? afterRaw : -1;
    let log: JobPageData['log'];
    if (isTerminal(job.status)) {
      const page = await s.jobs.logs(job.id, after, LOG_PAGE + 1);
      log = { lines: page.items.slice(0, LOG_PAGE), afterSeq: after, hasMore: page.items.length > LOG_PAGE, pageSize: LOG_PAGE };
    } else {
      log = { lines: await w.read.logTail(job.id, LOG_PAGE), afterSeq: -1, hasMore: false, pageSize: LOG_PAGE };
    }
    return c.html(<JobPage viewer={viewerOf(c)} data={{ job, host, log, slotAhead: job.status === 'queued' ? await s.caps.placeOf(job.id) : null }} />);
  });
  app.get('/partials/jobs/:id/summary', guard(), async (c) => {
    const job = await s.jobs.get(c.req.param('id'));
    const host = await s.hosts.get(job.host_id).catch(() => null);
    return c.html(<JobSummary viewer={viewerOf(c)} job={job} host={host} slotAhead={job.status === 'queued' ? await s.caps.placeOf(job.id) : null} />);
  });

  app.get('/repos', guard(), async (c) => {
    const offset = Math.max(0, Number(c.req.query('offset') ?? 0) || 0);
    const page = await s.hosts.listRepos(100, offset);
    const byRepo = await w.read.hostsByRepo(page.items.map((r) => r.id));
    const items = page.items.map((r) => ({ ...r, hosts: byRepo.get(r.id) ?? [] }));
    return c.html(<ReposPage viewer={viewerOf(c)} repos={{ ...page, items }} />);
  });

  app.get('/alerts', guard(), async (c) => {
    const open = c.req.query('open') !== 'false';
    const offset = Math.max(0, Number(c.req.query('offset') ?? 0) || 0);
    const kind = AlertKind.safeParse(c.req.query('kind')).data;
    const page = await s.fleet.alerts({ open, kind, host_ids: await s.scope.hostIds(scopeOf(c)) }, 50, offset);
    const names = await w.read.hostNames(page.items.flatMap((a) => (a.host_id ? [a.host_id] : [])));
    return c.html(<AlertsPage viewer={viewerOf(c)} open={open} kind={kind} alerts={page} hostNames={names} />);
  });

  app.get('/audit', guard('admin'), async (c) => {
    const q = query(AuditQuery, c);
    const filter = { actor: q.actor, action: q.action, target_kind: q.target_kind, target_id: q.target_id, since: q.since, until: q.until };
    const page = await s.audit.list(filter, Math.min(q.limit, 100), q.offset);
    return c.html(<AuditPage viewer={viewerOf(c)} filter={filter} audit={page} />);
  });

  app.get('/settings', guard(), async (c) => {
    const viewer = viewerOf(c);
    const users = viewer.role === 'admin' ? (await s.auth.listUsers(500, 0)).items : null;
    const about = {
      serverVersion: w.version,
      protocolVersion: PROTOCOL_VERSION,
      minAgentProtocol: MIN_AGENT_PROTOCOL_VERSION,
      node: process.versions.node,
      baseUrl: baseUrlOf(w, c),
      // Fleet-wide agent versions are not shown to a user limited to host tags.
      agentVersions: scopeOf(c) ? [] : await w.read.agentVersions(),
    };
    const disabled = users ? await w.read.disabledUserIds() : new Set<string>();
    const alerting = viewer.role === 'admin' ? <><ChannelsCard channels={await s.notifications.list()} dead={(await s.notifications.outboxItems(actorOf(c), 'dead', 50, 0)).items} /><AlertRulesCard settings={await s.alertRules.settings()} /></> : undefined;
    const controlPlane = viewer.role === 'admin' ? <ControlPlaneBackupCard v={await s.controlPlaneBackup.get()} repositories={(await s.repositories.list(500, 0)).items} /> : undefined;
    const tagWindows = viewer.role === 'admin' ? <TagWindowsCard items={(await s.tagWindows.list()).items} /> : undefined;
    return c.html(<SettingsPage viewer={viewer} users={users} disabled={disabled} about={about} alerting={alerting} controlPlane={controlPlane} tagWindows={tagWindows} caps={viewer.role === 'admin' ? <CapsCard caps={await s.caps.list()} admin /> : undefined} />);
  });
}
