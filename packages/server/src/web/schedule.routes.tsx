import type { Hono } from 'hono';
import { HostTimeZoneRequest, MaintenanceJobKind, ScheduleInput } from '@restic-manager/protocol';
import type { AppEnv } from '../http/auth.middleware.js';
import { DomainError } from '../services/errors.js';
import { bandwidthOf, list, maintenanceCredentialForm, nest, numOrRaw, opt, parseForm } from './forms.js';
import { CronPreviewView } from './pages/schedule-editor.js';
import { databasesFromForm } from './pages/schedule-databases.js';
import type { OverdueItem } from './pages/schedule-editor.js';
import type { WebCtx } from './web-context.js';
import { windowsFromForm, withBlackoutField } from './window-form.js';
import { actorOf, formOf, guard, redirectTo } from './web-context.js';

/** The retention fields of a form (`keep_*` inputs) as a RetentionPolicy body; empty inputs are left out. */
export function policyOf(raw: unknown): Record<string, unknown> {
  const p = (raw ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of ['keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly']) {
    const v = numOrRaw(p[k]);
    if (v !== undefined) out[k] = v;
  }
  const within = opt(p.keep_within);
  if (within) out.keep_within = within;
  const tags = list(p.keep_tag);
  if (tags.length) out.keep_tag = tags;
  return out;
}

/** The schedule editor's fields as a ScheduleInput (validated; field errors keep the form's names). */
function scheduleFromForm(f: Record<string, unknown>): ScheduleInput {
  const policy = policyOf(f.retention_policy);
  return parseForm(ScheduleInput, {
    kind: f.kind, cron_expr: opt(f.cron_expr) ?? '', time_zone: opt(f.time_zone) ?? null, enabled: f.enabled === 'on',
    paths: list(f.paths), excludes: list(f.excludes), tags: list(f.tags),
    retention_policy: Object.keys(policy).length ? policy : null,
    options: bandwidthOf(f.options),
    pre_hook: opt(f.pre_hook) ?? null, post_hook: opt(f.post_hook) ?? null, run_as: opt(f.run_as) ?? null,
    databases: databasesFromForm(f.databases),
    repository_id: opt(f.repository_id) ?? null,
    ...(f.kind === 'backup' ? { stop_containers: list(f.stop_containers) } : {}),
    ...(f.kind === 'check' ? { read_data_subset: opt(f.read_data_subset) ?? null, read_data_rotation: numOrRaw(f.read_data_rotation) ?? null } : {}),
    ...(f.kind === 'restore_drill' ? { drill_host_id: opt(f.drill_host_id) ?? null } : {}),
    windows: windowsFromForm(f.windows),
    // Issue 21: the ping URL is never pre-filled: empty keeps the stored one, the checkbox removes it.
    ...(f.clear_healthcheck_url === 'on' ? { healthcheck_url: null } : opt(f.healthcheck_url) ? { healthcheck_url: opt(f.healthcheck_url) } : {}),
  });
}

/** Overdue schedules with host names, for the dashboard card. */
export async function overdueItems(s: WebCtx['services'], w: WebCtx): Promise<OverdueItem[]> {
  const items = await s.maintenance.overdue();
  const names = await w.read.hostNames(items.map((i) => i.host_id));
  return items.map((i) => ({ ...i, host_name: names.get(i.host_id) ?? i.host_id }));
}

const toast = (message: string, kind = 'ok'): string => JSON.stringify({ 'rm:toast': { message, kind } });

/** Issue 6 UI actions: schedule create/toggle/delete with cron preview, maintenance run-now, credential, default hooks. */
export function mountScheduleUi(app: Hono<AppEnv>, w: WebCtx): void {
  const s = w.services;

  app.get('/hosts/:id/schedules/preview', guard(), async (c) => {
    const expr = c.req.query('cron_expr') ?? '';
    if (!expr.trim()) return c.html(<div class="faint">Enter a cron expression.</div>);
    const tz = opt(c.req.query('time_zone')) ?? (await s.hosts.get(c.req.param('id'))).time_zone ?? null;
    const preview = s.maintenance.preview(expr.trim(), tz);
    // Backup windows (issue 21): the runs as they would really start (the form's windows and the host's tags').
    const own = windowsFromForm(nest(c.req.query()).windows);
    const starts = preview.ok ? await s.tagWindows.previewStarts(c.req.param('id'), own, tz, preview.next) : undefined;
    return c.html(<CronPreviewView preview={preview} {...(starts ? { starts } : {})} />);
  });

  app.post('/hosts/:id/schedules', guard('operator'), async (c) => {
    const id = c.req.param('id');
    const f = nest(await formOf(c));
    await withBlackoutField(() => s.schedules.create(actorOf(c), id, scheduleFromForm(f)));
    return redirectTo(c, `/hosts/${id}/schedules`);
  });

  // Edit in place: the whole form replaces the schedule (PUT). Stored hooks are never sent to the
  // browser, so an empty hook field keeps the stored one unless "remove hooks" is ticked.
  app.put('/schedules/:id', guard('operator'), async (c) => {
    const f = nest(await formOf(c));
    const keep = f.clear_hooks !== 'on';
    const view = await withBlackoutField(() => s.schedules.update(actorOf(c), c.req.param('id'), scheduleFromForm(f), { pre_hook: keep, post_hook: keep, run_as: keep }));
    c.header('HX-Trigger', toast('Schedule saved and pushed to the agent.'));
    return redirectTo(c, `/hosts/${view.host_id}/schedules`);
  });

  app.post('/schedules/:id/toggle', guard('operator'), async (c) => {
    const { host_id } = await s.maintenance.toggleSchedule(actorOf(c), c.req.param('id'));
    return redirectTo(c, `/hosts/${host_id}/schedules`);
  });

  app.post('/schedules/:id/delete', guard('operator'), async (c) => {
    const row = await w.services.maintenance.scheduleHost(c.req.param('id'));
    await s.schedules.delete(actorOf(c), c.req.param('id'));
    return redirectTo(c, `/hosts/${row.host_id}/schedules`);
  });

  app.post('/hosts/:id/maintenance/run', guard('operator'), async (c) => {
    const id = c.req.param('id');
    const f = nest(await formOf(c));
    const parsed = MaintenanceJobKind.safeParse(f.kind);
    const kind = parsed.success ? parsed.data : null;
    let args: Record<string, unknown> = {};
    if (kind === null) {
      throw new DomainError('validation_failed', `“${typeof f.kind === 'string' ? f.kind : ''}” is not a maintenance job`, { kind: 'forget, prune, check or unlock' });
    } else if (kind === 'forget') {
      const policy = policyOf(f.policy);
      if (Object.keys(policy).length === 0) throw new DomainError('validation_failed', 'enter at least one keep rule', { 'policy.keep_last': 'enter at least one keep rule' });
      args = { policy };
    } else if (kind === 'check') {
      const subset = opt(f.read_data_subset);
      const rotation = numOrRaw(f.read_data_rotation);
      args = subset ? { read_data_subset: subset } : rotation !== undefined ? { read_data_rotation: rotation } : {};
    }
    const { job } = await s.jobs.runNow(actorOf(c), id, kind, args);
    return redirectTo(c, `/jobs/${job.id}`);
  });

  app.post('/hosts/:id/maintenance-credential', guard('admin'), async (c) => {
    await s.maintenance.setCredential(actorOf(c), c.req.param('id'), maintenanceCredentialForm(await formOf(c)));
    c.header('HX-Trigger', toast('Maintenance credential saved (encrypted).'));
    return redirectTo(c, `/hosts/${c.req.param('id')}/repo`);
  });

  app.post('/hosts/:id/time-zone', guard('operator'), async (c) => {
    const { time_zone } = parseForm(HostTimeZoneRequest, { time_zone: opt((await formOf(c)).time_zone) ?? null });
    await s.schedules.setHostTimeZone(actorOf(c), c.req.param('id'), time_zone);
    c.header('HX-Trigger', toast(time_zone ? `Time zone set to ${time_zone}; schedules pushed to the agent.` : 'Time zone cleared.'));
    return redirectTo(c, `/hosts/${c.req.param('id')}/settings`);
  });

  app.post('/hosts/:id/hooks', guard('admin'), async (c) => {
    const f = await formOf(c);
    await s.maintenance.setHostHooks(actorOf(c), c.req.param('id'), { pre_hook: opt(f.pre_hook) ?? null, post_hook: opt(f.post_hook) ?? null });
    c.header('HX-Trigger', toast('Default hooks saved and pushed to the agent.'));
    return c.body(null, 204);
  });
}
