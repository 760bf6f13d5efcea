import { describe, expect, it } from 'vitest';
import { parseScheduleSet } from '../src/wire.js';
import { jobForSchedule } from '../src/scheduler.js';
import { parseArgs } from '../src/jobs/execute.js';

/* A schedule's databases reach the fired backup job, and are validated when the job runs. */
const base = { id: 's1', kind: 'backup', cron_expr: '@daily', enabled: true, paths: [], excludes: [], tags: ['nightly'], retention_policy: null, options: {}, pre_hook: null, post_hook: null, run_as: null };

describe('schedules with databases on the agent', () => {
  it('a fired backup schedule carries its databases into the job arguments', () => {
    const dbs = [{ engine: 'postgres', host: '127.0.0.1', port: 5432, user: 'u', password: 'secret-pw', database: 'app' }];
    const set = parseScheduleSet({ schedule_version: 3, schedules: [{ ...base, databases: dbs }] });
    expect(set.ok).toBe(true);
    if (!set.ok) return;
    const job = jobForSchedule(set.value.schedules[0]!);
    expect(job.args).toEqual({ paths: [], excludes: [], tags: ['nightly'], databases: dbs });
    expect(parseArgs('backup', job.args)).toMatchObject({ databases: dbs });
  });

  it('a schedule without databases fires exactly as before (no databases key)', () => {
    const set = parseScheduleSet({ schedule_version: 1, schedules: [{ ...base, paths: ['/etc'] }] });
    expect(set.ok && jobForSchedule(set.value.schedules[0]!).args).toEqual({ paths: ['/etc'], excludes: [], tags: ['nightly'] });
  });

  it('a malformed databases list is a schedule.set error naming the field', () => {
    expect(parseScheduleSet({ schedule_version: 1, schedules: [{ ...base, databases: 'postgres' }] })).toEqual({ ok: false, message: 'schedules.0.databases: expected a list of objects' });
  });

  it('bad database arguments fail the job up front, naming the field', () => {
    expect(() => parseArgs('backup', { paths: [], databases: [{ engine: 'oracle', database: 'x' }] })).toThrow(/^invalid backup arguments: databases\.0\.engine: /);
    expect(() => parseArgs('backup', { paths: [] })).toThrow('invalid backup arguments: paths: at least one path (or a database) is required');
  });
});
