import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackupArgs } from '@restic-manager/protocol';
import { stopContainers, sweepStoppedContainers } from '../src/jobs/container-stop.js';
import type { Docker } from '../src/jobs/container-stop.js';
import { jobForSchedule } from '../src/scheduler.js';
import { parseScheduleSet } from '../src/wire.js';

/*
 * stop_containers with a stand-in docker CLI (the live engine runs in docker-live.test.ts and
 * e2e/docker.test.ts): order, the state file at every step, a missing container, the sweep, and
 * the schedule path from schedule.set to the fired job's arguments.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-stop-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fakeDocker(missing: string[] = []): { docker: Docker; calls: string[]; states: string[] } {
  const calls: string[] = [];
  const states: string[] = [];
  const file = path.join(dir, 'state.json');
  const docker: Docker = async (args) => {
    calls.push(args.join(' '));
    states.push(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '-');
    const name = args.at(-1)!;
    return missing.includes(name) ? { ok: false, error: `Error response from daemon: No such container: ${name}` } : { ok: true, error: '' };
  };
  return { docker, calls, states };
}

describe('stop_containers', () => {
  const file = path.join(dir, 'state.json');

  it('stops in order (each recorded before its stop), warns about a missing one, starts in reverse order with downtime', async () => {
    const f = fakeDocker(['gone']);
    const lines: string[] = [];
    const held = await stopContainers(['app', 'gone', 'db'], file, (t) => lines.push(t), f.docker);
    expect(held.stopped).toEqual(['app', 'db']);
    expect(f.states).toEqual(['["app"]', '["app","gone"]', '["app","db"]']);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(['app', 'db']);
    await held.startAll();
    expect(f.calls).toEqual(['stop app', 'stop gone', 'stop db', 'start db', 'start app']);
    expect(lines[0]).toBe('stopped container app');
    expect(lines[1]).toBe('warning: cannot stop container gone (Error response from daemon: No such container: gone); going on without it');
    expect(lines[3]).toMatch(/^started container db again \(down \d+\.\d s\)$/);
    expect(lines[4]).toMatch(/^started container app again \(down \d+\.\d s\)$/);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual([]);
  });

  it('the sweep starts what a killed agent left stopped (reverse order) and clears the list; a vanished container is dropped', async () => {
    fs.writeFileSync(file, JSON.stringify(['app', 'vanished', 'db']));
    const f = fakeDocker(['vanished']);
    const lines: string[] = [];
    expect(await sweepStoppedContainers(file, (t) => lines.push(t), f.docker)).toEqual(['app', 'vanished', 'db']);
    expect(f.calls).toEqual(['start db', 'start vanished', 'start app']);
    expect(fs.existsSync(file)).toBe(false);
    expect(lines).toContain('started container app, left stopped by a backup the agent did not finish');
  });

  it('a schedule with stop_containers fires a backup job carrying them; BackupArgs checks the names', () => {
    const set = parseScheduleSet({ schedule_version: 3, schedules: [{ id: 's1', kind: 'backup', cron_expr: '0 3 * * *', enabled: true, paths: ['/srv'], stop_containers: ['app', 'db'] }] });
    if (!set.ok) throw new Error(set.message);
    const job = jobForSchedule(set.value.schedules[0]!);
    expect(job.args).toMatchObject({ paths: ['/srv'], stop_containers: ['app', 'db'] });
    expect(BackupArgs.safeParse(job.args).success).toBe(true);
    expect(BackupArgs.safeParse({ paths: ['/srv'], stop_containers: ['-rm'] }).error?.issues[0]?.message).toBe('a container name or id (A-Z a-z 0-9 _ . -, not starting with _ . -), or label:<key>[=<value>]');
    const labelled = parseScheduleSet({ schedule_version: 4, schedules: [{ id: 's2', kind: 'backup', cron_expr: '0 3 * * *', enabled: true, paths: ['/srv'], stop_containers: ['label:backup.stop=yes', 'db'] }] });
    if (!labelled.ok) throw new Error(labelled.message);
    expect(BackupArgs.safeParse(jobForSchedule(labelled.value.schedules[0]!).args).success).toBe(true);
  });
});
