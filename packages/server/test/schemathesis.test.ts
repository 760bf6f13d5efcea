import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './helpers/harness.js';
import { startHarness } from './helpers/harness.js';
import type { HttpReceiver } from './helpers/receivers.js';
import { startHttpReceiver } from './helpers/receivers.js';
// @ts-expect-error -- plain ESM script without types; only its two constants are read
import { SCHEMATHESIS_VENV, SCHEMATHESIS_VERSION } from '../../../scripts/setup.mjs';

/*
 * Fuzzes the REST API from its own OpenAPI document with schemathesis (installed by
 * scripts/setup.mjs into a private venv): every operation, positive and negative data, the
 * coverage, fuzzing and stateful phases (OpenAPI links from the creating routes), a fixed seed.
 * Fails on any 500, an undocumented status or content type, or a body that breaks its schema.
 * Only 127.0.0.1 is reached: the server, and loopback receivers for notification channels.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(SCHEMATHESIS_VENV as string, 'bin', 'schemathesis');
const installed = existsSync(bin);
const FUZZER_PASSWORD = 'fuzzer-password-for-tests-1';
/**
 * Test cases per operation and phase (the run takes 1–1.5 min on 2 busy cores); RM_FUZZ_* override
 * both for a longer local hunt. One worker: with two, CPython 3.11's ast.parse raced inside
 * hypothesis ("AST constructor recursion depth mismatch"), and one keeps a seed's run repeatable.
 */
const MAX_EXAMPLES = Number(process.env.RM_FUZZ_MAX_EXAMPLES ?? 50);
const SEED = Number(process.env.RM_FUZZ_SEED ?? 20261202);
const TIMEOUT_MS = Math.max(240_000, MAX_EXAMPLES * 6000);

/**
 * What every response is checked for. Left out: positive_data_acceptance (zod refinements such as
 * cron syntax, IANA zones and cross-field rules have no JSON Schema form, so "valid" data the
 * fuzzer draws is often refused, rightly) and object_level_authorization (one user, no tenants).
 */
const CHECKS = [
  'not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance',
  'response_headers_conformance', 'negative_data_rejection', 'ignored_auth', 'missing_required_header',
  'unsupported_method', 'use_after_free', 'ensure_resource_availability',
];

/** The operations left out, and why (everything else in /api/openapi.json is fuzzed). */
const EXCLUDED = {
  '/api/auth/logout': 'it ends the session the run signs in with',
};

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Signs in; `cookie` is the `name=value` pair, `session` its value (schemathesis adds the name from the document). */
async function signIn(url: string, username: string, password: string): Promise<{ cookie: string; session: string; csrf: string; id: string }> {
  const res = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`sign-in as ${username}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { csrf_token: string; user: { id: string } };
  const cookie = (res.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
  return { cookie, session: cookie.slice(cookie.indexOf('=') + 1), csrf: body.csrf_token, id: body.user.id };
}

/** Runs `cmd` to its end (killed after `timeoutMs`), stdout and stderr together. */
function run(cmd: string, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: o.timeoutMs, killSignal: 'SIGKILL' });
    const chunks: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => chunks.push(d));
    p.stderr.on('data', (d: Buffer) => chunks.push(d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out: Buffer.concat(chunks).toString('utf8') }));
  });
}

const title = `REST API fuzzing with schemathesis ${SCHEMATHESIS_VERSION as string}${installed ? '' : ` (skipped: not installed at ${bin}; \`npm run setup\` installs it)`}`;
describe.skipIf(!installed)(title, () => {
  let h: Harness;
  let sink: HttpReceiver;
  let work: string;
  beforeAll(async () => {
    // the web UI mounted too, as in production (its middleware runs app-wide)
    h = await startHarness({ logLevel: 'error' }, { mountWeb: undefined });
    sink = await startHttpReceiver();
    work = mkdtempSync(path.join(os.tmpdir(), 'rm-schemathesis-'));
  });
  afterAll(async () => {
    await sink.close();
    await h.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('finds no server error, undocumented status or content type, or schema mismatch in any operation', async () => {
    for (const [username, role] of [['fuzzer', 'admin'], ['bystander', 'viewer']] as const) {
      const r = await h.admin.req('POST', '/api/users', { username, password: FUZZER_PASSWORD, role });
      expect(r.status, r.text).toBe(201);
    }
    const fuzzer = await signIn(h.url, 'fuzzer', FUZZER_PASSWORD);
    const bystander = await signIn(h.url, 'bystander', FUZZER_PASSWORD);
    const args = [
      '--config-file', path.join(here, 'schemathesis', 'schemathesis.toml'),
      'run', `${h.url}/api/openapi.json`,
      '--checks', CHECKS.join(','),
      '--phases', 'examples,coverage,fuzzing,stateful',
      '--max-examples', String(MAX_EXAMPLES), '--seed', String(SEED), '--generation-database', 'none',
      '--max-redirects', '0', '--request-timeout', '20', '--workers', '1', '--no-color',
      ...Object.keys(EXCLUDED).flatMap((p) => ['--exclude-path', p]),
    ];
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1',
      PYTHONPATH: path.join(here, 'schemathesis'), PYTHONDONTWRITEBYTECODE: '1', SCHEMATHESIS_HOOKS: 'rm_hooks',
      RM_FUZZ_HTTP_SINK: sink.url, RM_FUZZ_CLOSED_PORT: String(await closedPort()),
      RM_FUZZ_SESSION: fuzzer.session, RM_FUZZ_CSRF: fuzzer.csrf, RM_FUZZ_SELF_ID: fuzzer.id, RM_FUZZ_BYSTANDER_ID: bystander.id,
    };
    const started = Date.now();
    const { code, out } = await run(bin, args, { cwd: work, env, timeoutMs: TIMEOUT_MS - 20_000 });
    if (process.env.RM_FUZZ_OUTPUT) writeFileSync(process.env.RM_FUZZ_OUTPUT, out);
    // tool errors, then failures (or the tail), long lines cut: enough to act on in a test report
    const from = Math.min(...['=== ERRORS', '=== FAILURES'].map((m) => out.indexOf(m)).filter((i) => i >= 0), Math.max(0, out.length - 4000));
    const summary = out.slice(Math.max(0, from - 40)).split('\n').map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l)).join('\n').slice(0, 20_000);
    const serverErrors = h.logs().split('\n').filter((l) => l.includes('request failed')).slice(0, 20).join('\n');
    expect(code, `schemathesis exited ${code} after ${Math.round((Date.now() - started) / 1000)} s:\n${summary}\nserver errors:\n${serverErrors}`).toBe(0);
    expect(out).toMatch(/No issues found|passed/);
    // the run kept its session and the server is still serving
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    const me = await fetch(`${h.url}/api/auth/me`, { headers: { cookie: fuzzer.cookie } });
    expect(me.status).toBe(200);
  }, TIMEOUT_MS);
});
