import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobRunner, createLogger } from '@restic-manager/agent';
import { createEngine } from '@restic-manager/engines';
import { requireTool, tempDir } from '@restic-manager/testkit';
import type { TempDir } from '@restic-manager/testkit';
import { dependsOnServices, resolveStopList, stopOrder } from '../src/jobs/container-select.js';
import type { Listed } from '../src/jobs/container-select.js';
import { stopContainers, sweepStoppedContainers } from '../src/jobs/container-stop.js';
import type { Docker } from '../src/jobs/container-stop.js';
import type { Get } from '../src/dumps/docker.js';
import { until } from './helpers/fixture.js';

/*
 * stop_containers label selectors (`label:<key>[=<value>]`) with a stand-in Engine API and CLI:
 * compose dependency order, dedupe, selectors matching nothing, a listing that fails, the state
 * file holding concrete names for the sweep; and a real runner + restic with no Docker engine at
 * all. The live engine runs in docker-labels-live.test.ts.
 */

const compose = (project: string, service: string, dependsOn?: string): Record<string, string> => ({
  'com.docker.compose.project': project, 'com.docker.compose.service': service, ...(dependsOn ? { 'com.docker.compose.depends_on': dependsOn } : {}),
});
const c = (name: string, labels: Record<string, string> = {}, id = `${name.replace(/[^a-f0-9]/g, 'a')}${'0'.repeat(64)}`.slice(0, 64)): Listed => ({ name, id, labels });

/** A stand-in Engine API answering `GET /containers/json?filters=…` from `byFilter`. */
function fakeApi(byFilter: Record<string, Listed[]>): { get: Get; paths: string[] } {
  const paths: string[] = [];
  const get: Get = async (p) => {
    paths.push(p);
    const m = /^\/containers\/json\?filters=(.*)$/.exec(p);
    if (!m) return { ok: true, status: 404, body: { message: 'no' } };
    const f = (JSON.parse(decodeURIComponent(m[1]!)) as { label: string[] }).label[0]!;
    return { ok: true, status: 200, body: (byFilter[f] ?? []).map((x) => ({ Id: x.id, Names: [`/${x.name}`], Labels: x.labels, State: 'running' })) };
  };
  return { get, paths };
}

describe('label selectors: order', () => {
  it('reads the services of a compose depends_on label (old and new formats)', () => {
    expect(dependsOnServices('db:service_healthy:false,cache:service_started:true')).toEqual(['db', 'cache']);
    expect(dependsOnServices('db:service_started')).toEqual(['db']);
    expect(dependsOnServices(undefined)).toEqual([]);
  });

  it('compose: dependents before their dependencies, by name among the free; other projects are not linked', () => {
    const list = [
      c('shop-db-1', compose('shop', 'db')),
      c('shop-api-1', compose('shop', 'api', 'db:service_healthy:false')),
      c('shop-web-1', compose('shop', 'web', 'api:service_started:false')),
      c('shop-worker-1', compose('shop', 'worker', 'db:service_started:false,cache:service_started:false')),
      c('blog-db-1', compose('blog', 'db')),
    ];
    const r = stopOrder(list);
    expect(r.order.map((x) => x.name)).toEqual(['blog-db-1', 'shop-web-1', 'shop-api-1', 'shop-worker-1', 'shop-db-1']);
    expect(r).toMatchObject({ compose: true, cycle: false });
  });

  it('without depends_on labels the order is by name; a cycle is broken by name', () => {
    expect(stopOrder([c('b'), c('c'), c('a')]).order.map((x) => x.name)).toEqual(['a', 'b', 'c']);
    expect(stopOrder([c('b'), c('a')]).compose).toBe(false);
    const cyc = stopOrder([c('x-1', compose('p', 'x', 'y:service_started')), c('y-1', compose('p', 'y', 'x:service_started')), c('z-1', compose('p', 'z', 'x:service_started'))]);
    expect(cyc.order.map((x) => x.name)).toEqual(['z-1', 'x-1', 'y-1']);
    expect(cyc.cycle).toBe(true);
  });

  it('resolves entries in order, each container once; a selector matching nothing and a failed listing warn and go on', async () => {
    const api = fakeApi({
      'backup.stop=yes': [c('web', { 'backup.stop': 'yes' }), c('db', { 'backup.stop': 'yes' })],
      'com.docker.compose.project=shop': [c('shop-db-1', compose('shop', 'db')), c('shop-api-1', compose('shop', 'api', 'db:service_healthy:false')), c('web', {})],
    });
    const lines: string[] = [];
    const names = await resolveStopList(['cache', 'label:backup.stop=yes', 'label:nothing.here', 'label:com.docker.compose.project=shop', 'db'], () => api.get, (t) => lines.push(t));
    expect(names).toEqual(['cache', 'db', 'web', 'shop-api-1', 'shop-db-1']);
    expect(lines).toEqual([
      'label backup.stop=yes selects db, web (by name)',
      'warning: no running container has label nothing.here; going on',
      'label com.docker.compose.project=shop selects shop-api-1, shop-db-1, web (compose dependency order, dependents first)',
      'container web is selected more than once; it is stopped once',
      'container db is selected more than once; it is stopped once',
    ]);
    // The label is a Docker API filter, JSON-encoded and URL-encoded; running containers only (no all=1).
    expect(api.paths[0]).toBe(`/containers/json?filters=${encodeURIComponent('{"label":["backup.stop=yes"]}')}`);
    const down: Get = async () => ({ ok: false, error: '/var/run/docker.sock: connect ENOENT /var/run/docker.sock' });
    const warn: string[] = [];
    expect(await resolveStopList(['label:x', 'app'], () => down, (t) => warn.push(t))).toEqual(['app']);
    expect(warn).toEqual(['warning: cannot list the containers with label x (/var/run/docker.sock: connect ENOENT /var/run/docker.sock); going on without them']);
    // What the engine answers is checked too: a malformed name is replaced by the short id, a malformed id is skipped.
    const odd: Get = async () => ({ ok: true, status: 200, body: [{ Id: 'ab'.repeat(32), Names: ['/--privileged'], Labels: {} }, { Id: 'not hex', Names: ['/x'] }, 'junk', { Id: 'cd'.repeat(32), Names: ['/fine'] }] });
    const oddLines: string[] = [];
    expect(await resolveStopList(['label:k'], () => odd, (t) => oddLines.push(t))).toEqual(['abababababab', 'fine']);
    expect(oddLines).toEqual(['label k selects abababababab, fine (by name)']);
    // No label selector: the Engine API is never asked.
    let asked = false;
    expect(await resolveStopList(['a', 'b', 'a'], () => ((asked = true), down), () => undefined)).toEqual(['a', 'b']);
    expect(asked).toBe(false);
  });
});

describe('label selectors: stop, start, sweep', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await tempDir('rm-select-');
  });
  afterAll(async () => tmp?.cleanup());

  it('records the concrete names before each stop, starts in reverse, and the sweep after a killed agent starts them', async () => {
    const file = path.join(tmp.path, 'stopped.json');
    const calls: string[] = [];
    const states: string[] = [];
    const docker: Docker = async (args) => {
      calls.push(args.join(' '));
      states.push(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '-');
      return { ok: true, error: '' };
    };
    const api = fakeApi({ 'com.docker.compose.project=shop': [c('shop-db-1', compose('shop', 'db')), c('shop-app-1', compose('shop', 'app', 'db:service_started:false'))] });
    const lines: string[] = [];
    const held = await stopContainers(['label:com.docker.compose.project=shop'], file, (t) => lines.push(t), docker, api.get);
    expect(held.stopped).toEqual(['shop-app-1', 'shop-db-1']);
    expect(states).toEqual(['["shop-app-1"]', '["shop-app-1","shop-db-1"]']);
    // The agent is killed here; its next start sweeps the recorded names (no label lookup needed).
    calls.length = 0;
    expect(await sweepStoppedContainers(file, (t) => lines.push(t), docker)).toEqual(['shop-app-1', 'shop-db-1']);
    expect(calls).toEqual(['start shop-db-1', 'start shop-app-1']);
    expect(fs.existsSync(file)).toBe(false);
  });
});

/*
 * No Docker engine on the host (the socket does not exist): a backup without stop_containers
 * never touches Docker, and one with a label selector warns once and backs up anyway.
 */
const restic = requireTool('restic');
describe.skipIf(!restic.ok)('no Docker engine: backups that do not need it are unaffected', () => {
  let tmp: TempDir;
  let runner: JobRunner;
  const frames: Record<string, unknown>[] = [];
  const saved = { sock: process.env.RM_AGENT_DOCKER_SOCKET, host: process.env.DOCKER_HOST };
  beforeAll(async () => {
    tmp = await tempDir('rm-nodocker-');
    process.env.RM_AGENT_DOCKER_SOCKET = path.join(tmp.path, 'no-docker.sock');
    process.env.DOCKER_HOST = `unix://${path.join(tmp.path, 'no-docker.sock')}`;
    fs.mkdirSync(path.join(tmp.path, 'src'));
    fs.writeFileSync(path.join(tmp.path, 'src', 'a.txt'), 'data\n');
    const engine = createEngine('restic');
    const conn = { repository: path.join(tmp.path, 'repo'), password: 'no-docker-pw-71c2' };
    expect((await engine.init(conn)).ok).toBe(true);
    runner = new JobRunner({
      engine: () => Promise.resolve(engine), emit: (f) => void frames.push(f as Record<string, unknown>),
      secrets: () => conn, activeJobsFile: path.join(tmp.path, 'active-jobs.json'), log: createLogger({ write: () => undefined }),
    });
  });
  afterAll(async () => {
    await runner?.shutdown();
    for (const [k, v] of [['RM_AGENT_DOCKER_SOCKET', saved.sock], ['DOCKER_HOST', saved.host]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await tmp?.cleanup();
  });
  const finished = (id: string): Record<string, unknown> | undefined => frames.find((f) => f.type === 'job.finished' && f.job_id === id);
  const events = (id: string): string[] => frames.filter((f) => f.type === 'log.stream' && f.job_id === id && f.stream === 'event').map((f) => String(f.payload));

  it('a plain backup succeeds with no container line; a label selector warns naming the socket and the backup still succeeds', async () => {
    runner.submit({ jobId: 'plain', kind: 'backup', args: { paths: [path.join(tmp.path, 'src')] } });
    await until(() => finished('plain') !== undefined, 60_000, 'the plain backup');
    expect(finished('plain')).toMatchObject({ status: 'succeeded' });
    expect(events('plain').filter((l) => /container|docker/i.test(l))).toEqual([]);
    runner.submit({ jobId: 'labelled', kind: 'backup', args: { paths: [path.join(tmp.path, 'src')], stop_containers: ['label:backup.stop'] } });
    await until(() => finished('labelled') !== undefined, 60_000, 'the labelled backup');
    expect(finished('labelled')).toMatchObject({ status: 'succeeded' });
    expect(events('labelled')).toContain(`warning: cannot list the containers with label backup.stop (${path.join(tmp.path, 'no-docker.sock')}: connect ENOENT ${path.join(tmp.path, 'no-docker.sock')}); going on without them`);
  }, 120_000);
});
