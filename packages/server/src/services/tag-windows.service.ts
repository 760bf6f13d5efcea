import type { TagWindowsView, WindowSetInput } from '@restic-manager/protocol';
import type { WindowSet } from '@restic-manager/protocol';
import { TagList, WindowSetSchema, windowSetProblem } from '@restic-manager/protocol';
import type { TagWindowsRow } from '../repositories/tag-windows.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import { checkWindowSet, parseWindowSet, windowGate, windowSetsFor } from './backup-windows.js';
import type { ScheduleService } from './schedule.service.js';

/**
 * Backup windows per host tag (issue 21, docs/schedules.md "Backup windows"): every schedule of a
 * host carrying the tag gets the set on top of its own (a run starts only when every set allows
 * it). A change pushes a new schedule.set to each host carrying the tag.
 */
export class TagWindowsService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly schedules: ScheduleService,
  ) {}

  async list(): Promise<{ items: TagWindowsView[] }> {
    return { items: (await this.d.repos.tagWindows.list()).map(view) };
  }

  async put(actor: Actor, tag: string, input: WindowSetInput): Promise<TagWindowsView> {
    checkTag(tag);
    checkWindowSet(input, 'windows', this.d.now());
    if (input.windows.length === 0 && input.blackouts.length === 0) throw new DomainError('validation_failed', 'windows: give at least one window or blackout (DELETE removes a tag\'s windows)', { windows: 'empty' });
    const row = { tag, windows: JSON.stringify({ windows: input.windows, blackouts: input.blackouts }), updated_at: iso(this.d.now()) };
    await this.d.repos.tagWindows.upsert(row);
    await this.audit.record(actor, 'tag_windows.set', { kind: 'tag', id: tag }, { windows: input.windows.length, blackouts: input.blackouts.length });
    await this.pushTag(tag);
    return view(row);
  }

  async delete(actor: Actor, tag: string): Promise<void> {
    checkTag(tag);
    if (!(await this.d.repos.tagWindows.delete(tag))) throw notFound('tag windows', tag);
    await this.audit.record(actor, 'tag_windows.delete', { kind: 'tag', id: tag }, {});
    await this.pushTag(tag);
  }

  /**
   * The cron preview with windows: for each fire time, when the run would really start under
   * `own` (the editor's windows, ignored while invalid) and the host's tag windows; null = never.
   * Undefined when no window applies.
   */
  async previewStarts(hostId: string, own: unknown, tz: string | null, fires: readonly string[]): Promise<(string | null)[] | undefined> {
    const parsed = own ? WindowSetSchema.safeParse(own) : null;
    const mine: WindowSet[] = parsed?.success && !windowSetProblem(parsed.data, this.d.now()) ? [{ ...parsed.data, source: 'schedule' }] : [];
    const host = await this.d.repos.hosts.findById(hostId);
    const sets = [...mine, ...((await windowSetsFor(this.d.repos, host, [{ id: '', windows: null }])).get('') ?? [])];
    if (sets.length === 0) return undefined;
    return fires.map((t) => {
      const g = windowGate(sets, tz, Date.parse(t));
      return g.startAt === null ? null : new Date(g.startAt).toISOString();
    });
  }

  private async pushTag(tag: string): Promise<void> {
    const { rows } = await this.d.repos.hosts.list({ tag }, 100_000, 0);
    await this.schedules.repush(rows.map((h) => h.id));
  }
}

function checkTag(tag: string): void {
  const r = TagList.safeParse([tag]);
  if (!r.success) throw new DomainError('validation_failed', `tag: ${r.error.issues[0]?.message ?? 'invalid'}`, { tag: r.error.issues[0]?.message ?? 'invalid' });
}

function view(r: TagWindowsRow): TagWindowsView {
  const s = parseWindowSet(r.windows) ?? { windows: [], blackouts: [] };
  return { tag: r.tag, windows: s.windows, blackouts: s.blackouts, updated_at: r.updated_at };
}
