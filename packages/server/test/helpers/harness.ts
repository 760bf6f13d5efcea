import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startServer } from '@restic-manager/server';
import { FakeAgent } from '@restic-manager/server/testing';
import type { RunningServer, StartOptions, ServerConfigInput } from '@restic-manager/server';
import { afterAll, beforeAll } from 'vitest';
import { databaseUrlFor, dropDatabase, dumpDatabase, freshDatabaseUrl } from './test-database.js';

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
 * Starts a real server on 127.0.0.1:<ephemeral> with a temp data dir and captured logs. In the
 * vitest project `postgres` its store is a fresh database on the run's PostgreSQL (dropped on
 * close), unless `extra.databaseUrl` says otherwise; else SQLite in the data dir.
 */
export async function startHarness(extra: ServerConfigInput = {}, opts: StartOptions = {}): Promise<Harness> {
  const dataDir = extra.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'rm-server-'));
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (d: Buffer) => chunks.push(d.toString()));
  // A test that starts a server again on a data dir it passes in gets that server's database back.
  const kept = extra.dataDir !== undefined;
  const fresh = extra.databaseUrl !== undefined ? null : kept ? await databaseUrlFor(dataDir) : await freshDatabaseUrl();
  const databaseUrl = fresh ?? extra.databaseUrl;
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
      if (!kept) await dropDatabase(fresh);
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
 * and the database (SQLite: its files read as bytes; PostgreSQL: a `pg_dump` of its data). An
 * empty list is the pass.
 */
export async function leaksOf(h: Harness, secret: string, answers: string[]): Promise<string[]> {
  const db = await databaseText(h);
  return Object.entries({ api: answers.join('\n'), logs: h.logs(), db }).filter(([, t]) => t.includes(secret)).map(([w]) => w);
}

/** The harness's database as text: SQLite's files read as bytes, or a `pg_dump` of PostgreSQL's data. */
export async function databaseText(h: Pick<Harness, 'dataDir' | 'databaseUrl'>): Promise<string> {
  if (h.databaseUrl) return dumpDatabase(h.databaseUrl);
  const files = readdirSync(h.dataDir).filter((f) => f.startsWith('restic-manager.db'));
  return files.map((f) => readFileSync(path.join(h.dataDir, f)).toString('latin1')).join('\n');
}

/**
 * A second connection to the harness's store (SQLite file or PostgreSQL), for a test that changes a
 * row behind the server's back: `exec(sql)` answers the rows it changed or read; `exec(null)` closes it.
 */
export async function behindTheServer(h: Pick<Harness, 'dataDir' | 'databaseUrl'>): Promise<(q: string | null) => Promise<number>> {
  if (!h.databaseUrl) {
    const db = new Database(path.join(h.dataDir, 'restic-manager.db'));
    return (q) => {
      if (q === null) return Promise.resolve((db.close(), 0));
      const st = db.prepare(q);
      return Promise.resolve(st.reader ? st.all().length : st.run().changes);
    };
  }
  const client = new pg.Client({ connectionString: h.databaseUrl });
  await client.connect();
  return async (q) => {
    if (q === null) return (await client.end(), 0);
    return (await client.query(q)).rowCount ?? 0;
  };
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
