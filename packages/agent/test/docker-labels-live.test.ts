import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobRunner, createLogger } from '@restic-manager/agent';
import { createEngine } from '@restic-manager/engines';
import type { Engine } from '@restic-manager/engines';
import { findDocker, POSTGRES_IMAGE, requireTool } from '@restic-manager/testkit';
import { stopContainers, sweepStoppedContainers } from '../src/jobs/container-stop.js';
import { until } from './helpers/fixture.js';
import { useDockerBench } from './helpers/docker-bench.js';

/*
 * stop_containers label selectors for real: a private dockerd (testkit, --bridge=none), three
 * containers with --network none — two carrying `rm-test.group=shop` (and compose labels saying
 * shop-web depends on shop-db), one bystander without it. A backup through the real JobRunner and
 * restic, failing on purpose, stops the two (dependent first) while restic runs and starts them
 * again (dependency first), naming each with its downtime; the bystander is never touched. Then a
 * killed agent's state file lists the label-selected containers by name and the sweep starts them.
 */
const restic = requireTool('restic');
const docker = findDocker();
if (!restic.ok) console.warn(`skipping live Docker label tests: ${restic.reason}`);
if (!docker.ok) console.warn(`skipping live Docker label tests: ${docker.reason}`);

const LABEL = 'rm-test.group';
const compose = (service: string, dependsOn?: string): string[] => [
  '--label', 'com.docker.compose.project=shop', '--label', `com.docker.compose.service=${service}`,
  ...(dependsOn ? ['--label', `com.docker.compose.depends_on=${dependsOn}`] : []),
];

describe.skipIf(!restic.ok || !docker.ok)('Docker, live: stop_containers by label', () => {
  const b = useDockerBench({
    prefix: 'rm-docker-labels-', image: 'postgres', what: 'live Docker label tests', restoreEnv: ['DOCKER_HOST', 'RM_AGENT_DOCKER_SOCKET'],
    setup: (dk) => {
      delete process.env.RM_AGENT_DOCKER_SOCKET;
      // Plain long-running containers (the image's sleep); --stop-timeout 1 keeps `docker stop` short.
      const run = (name: string, labels: string[]): void => void dk.docker(['run', '-d', '--network', 'none', '--name', name, '--user', '0', '--stop-timeout', '1', ...labels, '--entrypoint', '/bin/sleep', POSTGRES_IMAGE, 'infinity']);
      run('shop-db', ['--label', `${LABEL}=shop`, ...compose('db')]);
      run('shop-web', ['--label', `${LABEL}=shop`, ...compose('web', 'db:service_started:false')]);
      run('bystander', ['--label', `${LABEL}=blog`]);
    },
  });
  const state = (name: string): { running: boolean; startedAt: string } => {
    const [running, startedAt] = b.dk!.docker(['inspect', '--format', '{{.State.Running}} {{.State.StartedAt}}', name]).split(' ');
    return { running: running === 'true', startedAt: startedAt ?? '' };
  };

  it('a failing backup stops both labelled containers while restic runs and starts them again, each named with its downtime', async (ctx) => {
    b.ready(ctx);
    const restic = createEngine('restic');
    const conn = { repository: path.join(b.tmp.path, 'repo'), password: 'docker-labels-pw-5c0e' };
    expect((await restic.init(conn)).ok).toBe(true);
    const before = { db: state('shop-db'), web: state('shop-web'), by: state('bystander') };
    expect([before.db.running, before.web.running, before.by.running]).toEqual([true, true, true]);
    // What the containers look like at the moment restic's backup starts.
    let during: Record<string, boolean> | null = null;
    const engine: Engine = Object.create(restic) as Engine;
    engine.backup = (...a) => {
      during = { 'shop-db': state('shop-db').running, 'shop-web': state('shop-web').running, bystander: state('bystander').running };
      return restic.backup(...a);
    };
    const frames: Record<string, unknown>[] = [];
    const runner = new JobRunner({
      engine: () => Promise.resolve(engine), emit: (f) => void frames.push(f as Record<string, unknown>),
      secrets: () => conn, activeJobsFile: path.join(b.tmp.path, 'state', 'active-jobs.json'), log: createLogger({ write: () => undefined }),
    });
    fs.mkdirSync(path.join(b.tmp.path, 'state'));
    try {
      runner.submit({ jobId: 'b1', kind: 'backup', args: { paths: [path.join(b.tmp.path, 'no-such-path')], stop_containers: [`label:${LABEL}=shop`, 'shop-db'] } });
      await until(() => frames.some((f) => f.type === 'job.finished'), 120_000, 'the backup to finish');
    } finally {
      await runner.shutdown();
    }
    expect(frames.find((f) => f.type === 'job.finished')).toMatchObject({ status: 'failed' });
    expect(during).toEqual({ 'shop-db': false, 'shop-web': false, bystander: true });
    const events = frames.filter((f) => f.type === 'log.stream' && f.stream === 'event').map((f) => String(f.payload)).filter((l) => /container|label/.test(l));
    expect(events).toEqual([
      `label ${LABEL}=shop selects shop-web, shop-db (compose dependency order, dependents first)`,
      'container shop-db is selected more than once; it is stopped once',
      'stopped container shop-web',
      'stopped container shop-db',
      expect.stringMatching(/^started container shop-db again \(down \d+\.\d s\)$/),
      expect.stringMatching(/^started container shop-web again \(down \d+\.\d s\)$/),
    ]);
    const after = { db: state('shop-db'), web: state('shop-web'), by: state('bystander') };
    expect([after.db.running, after.web.running, after.by.running]).toEqual([true, true, true]);
    expect(after.db.startedAt).not.toBe(before.db.startedAt);
    expect(after.web.startedAt).not.toBe(before.web.startedAt);
    expect(after.by.startedAt).toBe(before.by.startedAt);
    // The dependency came up first.
    expect(Date.parse(after.db.startedAt)).toBeLessThanOrEqual(Date.parse(after.web.startedAt));
    expect(JSON.parse(fs.readFileSync(path.join(b.tmp.path, 'state', 'stopped-containers.json'), 'utf8'))).toEqual([]);
  }, 240_000);

  it('an agent killed while label-selected containers are down: the state file names them and the sweep starts them', async (ctx) => {
    b.ready(ctx);
    const file = path.join(b.tmp.path, 'stopped-containers.json');
    const lines: string[] = [];
    const held = await stopContainers([`label:${LABEL}`, 'label:no-such.label=x'], file, (t) => lines.push(t));
    expect(held.stopped).toEqual(['bystander', 'shop-web', 'shop-db']);
    expect(lines).toContain('warning: no running container has label no-such.label=x; going on');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(['bystander', 'shop-web', 'shop-db']);
    expect([state('bystander').running, state('shop-web').running, state('shop-db').running]).toEqual([false, false, false]);
    // The agent "dies": startAll never runs. Stopped containers no longer match a label filter
    // (running only), so the sweep must rely on the recorded names.
    const sweepLines: string[] = [];
    expect(await sweepStoppedContainers(file, (t) => sweepLines.push(t))).toEqual(['bystander', 'shop-web', 'shop-db']);
    expect(sweepLines).toEqual(['shop-db', 'shop-web', 'bystander'].map((n) => `started container ${n}, left stopped by a backup the agent did not finish`));
    expect([state('bystander').running, state('shop-web').running, state('shop-db').running]).toEqual([true, true, true]);
    expect(fs.existsSync(file)).toBe(false);
    expect(spawnSync('docker', ['-H', b.dk!.host, 'ps', '--filter', `label=${LABEL}`, '--format', '{{.Names}}'], { encoding: 'utf8' }).stdout.trim().split('\n').sort()).toEqual(['bystander', 'shop-db', 'shop-web']);
  }, 240_000);
});
