import { AgentEventsService } from './agent-events.service.js';
import { AgentRequests } from './agent-requests.js';
import { AuditService } from './audit.service.js';
import { AuthService } from './auth.service.js';
import type { AuthOptions } from './auth.service.js';
import type { ServiceDeps } from './context.js';
import { EnrollmentService } from './enrollment.service.js';
import { FleetService } from './fleet.service.js';
import { HostService } from './host.service.js';
import { JobHub } from './job-hub.js';
import { JobService } from './job.service.js';
import { MaintenanceScheduler } from './maintenance-scheduler.js';
import { MaintenanceService } from './maintenance.service.js';
import { RestoreService } from './restore.service.js';
import { ScheduleService } from './schedule.service.js';
import { SnapshotBrowseService } from './snapshot-browse.service.js';

/** Every service, wired by hand. The HTTP/WS edges and the web UI receive this bundle. */
export interface Services {
  audit: AuditService;
  auth: AuthService;
  hosts: HostService;
  enrollment: EnrollmentService;
  jobs: JobService;
  schedules: ScheduleService;
  fleet: FleetService;
  agentEvents: AgentEventsService;
  hub: JobHub;
  /** Issue 6: maintenance credential, host default hooks, locks. */
  maintenance: MaintenanceService;
  /** Issue 6: the server-side clock of forget/prune schedules (started by startServer). */
  maintenanceScheduler: MaintenanceScheduler;
  /** Restore wizard: snapshot browsing through the agent, and (cross-host) restore submit. */
  browse: SnapshotBrowseService;
  restore: RestoreService;
}

export function createServices(d: ServiceDeps, auth: AuthOptions): Services {
  const hub = new JobHub();
  const audit = new AuditService(d);
  const hosts = new HostService(d, audit);
  const jobs = new JobService(d, audit, hub);
  const schedules = new ScheduleService(d, audit);
  const fleet = new FleetService(d, audit);
  const maintenance = new MaintenanceService(d, audit, schedules);
  jobs.maintenance = maintenance;
  const requests = new AgentRequests(d.agents, async (id) => (await d.repos.hosts.findById(id))?.name ?? id);
  const browse = new SnapshotBrowseService(d, requests);
  const restore = new RestoreService(d, audit, jobs, hosts, browse, requests, maintenance);
  jobs.restore = restore;
  const agentEvents = new AgentEventsService(d, audit, hub, hosts, jobs, schedules, fleet);
  agentEvents.requests = requests;
  agentEvents.onHello = (hostId) => restore.retryRevocations(hostId);
  return {
    browse,
    restore,
    maintenance,
    maintenanceScheduler: new MaintenanceScheduler(d, audit, jobs, maintenance),
    audit,
    auth: new AuthService(d, audit, auth),
    hosts,
    enrollment: new EnrollmentService(d, audit),
    jobs,
    schedules,
    fleet,
    agentEvents,
    hub,
  };
}
