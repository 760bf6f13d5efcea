import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { startServer } from '@restic-manager/server';
import { FakeAgent } from '@restic-manager/server/testing';
import type { RunningServer, StartOptions, ServerConfigInput } from '@restic-manager/server';
import { afterAll, beforeAll } from 'vitest';
import { storeEngines } from './stores.js';

export const ADMIN_PASSWORD = 'admin-password-for-tests-1';

export interface Harness {
  server: RunningServer;
  url: string;
  dataDir: string;
  /** The PostgreSQL store's URL; null = SQLite at <dataDir>/restic-manager.db. */
  databaseUrl: string | null;
  /** Every log line the server wrote. */
  logs: () => string;
  admin: Api;
  close(): Promise<void>;
}

/**
 * RM_TEST_STORE=postgres runs every harness-based test against a throwaway PostgreSQL (one
 * server per test file, a fresh database per harness) instead of SQLite in the data dir.
 */
const pgEngine = process.env.RM_TEST_STORE === 'postgres' ? storeEngines().find((e) => e.name === 'postgres') : undefined;
if (pgEngine) {
  if (pgEngine.skip) throw new Error(`RM_TEST_STORE=postgres: ${pgEngine.skip}`);
  afterAll(() => pgEngine.stop());
}

/** Starts a real server on 127.0.0.1:<ephemeral> with a temp data dir and captured logs. */
export async function startHarness(extra: ServerConfigInput = {}, opts: StartOptions = {}): Promise<Harness> {
  const dataDir = extra.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'rm-server-'));
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (d: Buffer) => chunks.push(d.toString()));
  const databaseUrl = extra.databaseUrl === undefined && pgEngine ? await pgEngine.databaseUrl() : extra.databaseUrl;
  const server = await startServer(
    { listen: '127.0.0.1:0', dataDir, cookieSecure: false, adminPassword: ADMIN_PASSWORD, logLevel: 'debug', ...extra, databaseUrl },
    { logStream: out, mountWeb: null, ...opts },
  );
  const admin = new Api(server.url);
  await admin.login('admin', ADMIN_PASSWORD);
  return {
    server, url: server.url, dataDir, admin, databaseUrl: databaseUrl ?? null,
    logs: () => chunks.join(''),
    async close() {
      await server.close();
      if (!extra.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// Test responses are untyped JSON that the assertions check field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

/** A browser-like API client: keeps the session cookie and sends the CSRF header. */
export class Api {
  cookie: string | undefined;
  csrf: string | undefined;
  constructor(readonly url: string) {}

  async login(username: string, password: string): Promise<ApiResponse> {
    const r = await this.req('POST', '/api/auth/login', { username, password });
    if (r.status === 200) {
      const set = r.headers.get('set-cookie') ?? '';
      this.cookie = /rm_session=([^;]+)/.exec(set)?.[1];
      this.csrf = (r.body as { csrf_token: string }).csrf_token;
    }
    return r;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async req<T = any>(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.cookie) h.cookie = `rm_session=${this.cookie}`;
    if (this.csrf && method !== 'GET') h['x-csrf-token'] ??= this.csrf;
    if (body !== undefined) h['content-type'] ??= 'application/json';
    const res = await fetch(`${this.url}${p}`, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  }
}

export const REPO = { url: 'rest:http://127.0.0.1:8000/host-a/', rest_username: 'host-a' };

/** Adds a host and enrolls a FakeAgent for it (announcing `features` in its hello); the agent is not connected yet. */
export async function enrolledAgent(h: Harness, name = 'host-a', repository: Record<string, unknown> = REPO, features?: string[]) {
  const add = await h.admin.req('POST', '/api/hosts', { name, repository });
  if (add.status !== 201) throw new Error(`add host failed: ${add.status} ${add.text}`);
  const enr = await FakeAgent.enroll(h.url, add.body.token, name);
  if (enr.status !== 201) throw new Error(`enroll failed: ${enr.status}`);
  const agent = new FakeAgent({ url: h.url, bearer: enr.bearer_token, hostname: name, ...(features ? { features } : {}) });
  return { agent, hostId: enr.host_id, bearer: enr.bearer_token, add: add.body };
}

/**
 * An enrolled, connected fake agent with a run-now job of `kind` already dispatched to it: the
 * job id is returned once the agent has received its command.run.
 */
export async function dispatchedJob(h: Harness, name: string, kind = 'check', args: Record<string, unknown> = {}) {
  const { agent, hostId } = await enrolledAgent(h, name);
  await agent.connect();
  const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind, args });
  if (run.status !== 202) throw new Error(`run ${kind} failed: ${run.status} ${run.text}`);
  await agent.next('command.run');
  return { agent, hostId, id: run.body.job.id as string };
}

/**
 * One harness for the enclosing describe block: started before its tests, closed after them.
 * The returned object stands for it (a proxy), so tests use it like the harness itself.
 */
export function useHarness(extra: ServerConfigInput = {}, opts: StartOptions = {}): Harness {
  let started: Harness | null = null;
  beforeAll(async () => {
    started = await startHarness(extra, opts);
  });
  afterAll(async () => started?.close());
  return new Proxy({} as Harness, {
    get(_target, key) {
      if (!started) throw new Error('the harness is not started yet (use it inside a test or a later hook)');
      return Reflect.get(started, key, started) as unknown;
    },
  });
}

/**
 * The surfaces that hold `secret`: the API answers a test collected (`answers`), the server's log
 * and the database files (read as bytes). An empty list is the pass.
 */
export function leaksOf(h: Harness, secret: string, answers: string[]): string[] {
  const files = readdirSync(h.dataDir).filter((f) => f.startsWith('restic-manager.db'));
  const db = files.map((f) => readFileSync(path.join(h.dataDir, f)).toString('latin1')).join('\n');
  return Object.entries({ api: answers.join('\n'), logs: h.logs(), db }).filter(([, t]) => t.includes(secret)).map(([w]) => w);
}

/** Polls `fn` until it returns a truthy value (or throws after `ms`). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
