import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './helpers/harness.js';
import { REPO, enrolledAgent, eventually, startHarness } from './helpers/harness.js';

describe('REST API behaviour', () => {
  let h: Harness;
  let installDir: string;
  beforeAll(async () => {
    installDir = mkdtempSync(path.join(os.tmpdir(), 'rm-install-'));
    writeFileSync(path.join(installDir, 'install.sh'), '#!/usr/bin/env bash\nRM_BASE_URL="${RM_BASE_URL:-__RM_BASE_URL__}"\n');
    h = await startHarness({ installDir, trustedProxy: '127.0.0.1/32', metricsToken: 'metrics-token-123456', metricsAllow: '10.9.9.9/32' });
  });
  afterAll(async () => h.close());

  it('validates bodies and queries with field-level errors in { error: { code, message, fields } }', async () => {
    const r = await h.admin.req('POST', '/api/hosts', { name: '', repository: { url: 'x' }, bogus: 1 });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(Object.keys(r.body.error.fields)).toEqual(expect.arrayContaining(['name']));
    expect((await h.admin.req('GET', '/api/jobs?limit=100000')).body.error.fields).toHaveProperty('limit');
    expect((await h.admin.req('POST', '/api/hosts', '{not json')).body.error.message).toBe('body is not valid JSON');
    expect((await h.admin.req('GET', '/api/nope')).body.error.code).toBe('not_found');
    expect((await h.admin.req('GET', '/api/jobs/does-not-exist')).status).toBe(404);
  });

  it('refuses a bad run-now bandwidth limit with 400 and a field error naming it', async () => {
    const bad = async (v: unknown) => (await h.admin.req('POST', '/api/hosts/any/jobs', { kind: 'backup', args: { paths: ['/x'], limit_upload_kbps: v } })).body;
    for (const v of [0, -5, 1.5, 'fast']) {
      const b = await bad(v);
      expect(b.error.code, String(v)).toBe('validation_failed');
      expect(Object.keys(b.error.fields), String(v)).toEqual(['args.limit_upload_kbps']);
      expect(b.error.message).toContain('args.limit_upload_kbps');
    }
    expect((await bad(0)).error.fields['args.limit_upload_kbps']).toMatch(/at least 1 KiB\/s/);
    expect((await bad('fast')).error.fields['args.limit_upload_kbps']).toMatch(/whole number of KiB\/s/);
    const r = await h.admin.req('POST', '/api/hosts/any/jobs', { kind: 'check', args: { limit_download_kbps: 10 } });
    expect(r.status).toBe(400);
    expect(r.body.error.fields).toHaveProperty('args');
  });

  it('paginates lists with limit, offset and total, and filters hosts by tag and status', async () => {
    for (let i = 0; i < 5; i++) await h.admin.req('POST', '/api/hosts', { name: `pg-${i}`, tags: i % 2 ? ['odd'] : ['even'], repository: REPO });
    const p1 = await h.admin.req('GET', '/api/hosts?limit=2&offset=0');
    const p2 = await h.admin.req('GET', '/api/hosts?limit=2&offset=2');
    expect(p1.body).toMatchObject({ total: 5, limit: 2, offset: 0 });
    expect(p1.body.items).toHaveLength(2);
    expect(p2.body.items[0].name).toBe('pg-2');
    expect((await h.admin.req('GET', '/api/hosts?tag=odd')).body.total).toBe(2);
    expect((await h.admin.req('GET', '/api/hosts?status=pending')).body.total).toBe(5);
    expect((await h.admin.req('GET', '/api/fleet/summary')).body).toMatchObject({ hosts_total: 5, hosts_by_status: { pending: 5 }, running_jobs: 0 });
  });

  it('replaces host tags through PUT /api/hosts/:id/tags: validated by the shared tag schema, audited from → to', async () => {
    const add = await h.admin.req('POST', '/api/hosts', { name: 'tagged', tags: ['a'], repository: REPO });
    const id = add.body.host_id as string;
    const r = await h.admin.req('PUT', `/api/hosts/${id}/tags`, { tags: ['web', 'prod:eu'] });
    expect(r.status).toBe(200);
    expect(r.body.tags).toEqual(['web', 'prod:eu']);
    expect((await h.admin.req('GET', `/api/hosts/${id}`)).body.tags).toEqual(['web', 'prod:eu']);
    const bad = await h.admin.req('PUT', `/api/hosts/${id}/tags`, { tags: ['has space'] });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.fields)).toEqual(['tags.0']);
    expect((await h.admin.req('GET', `/api/hosts/${id}`)).body.tags).toEqual(['web', 'prod:eu']);
    expect((await h.admin.req('PUT', '/api/hosts/nope/tags', { tags: [] })).status).toBe(404);
    const audit = (await h.admin.req('GET', `/api/audit?target_kind=host&target_id=${id}&action=host.tags`)).body.items;
    expect(audit).toHaveLength(1);
    expect(audit[0].payload).toEqual({ from: ['a'], to: ['web', 'prod:eu'] });
  });

  it('serves OpenAPI generated from the zod schemas', async () => {
    const doc = (await h.admin.req('GET', '/api/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    const post = doc.paths['/api/hosts/{id}/jobs'].post;
    expect(post['x-required-role']).toBe('operator');
    const byKind = Object.fromEntries(post.requestBody.content['application/json'].schema.oneOf.map((o: { properties: { kind: { const: string } } }) => [o.properties.kind.const, o]));
    expect(Object.keys(byKind)).toEqual(expect.arrayContaining(['backup', 'forget', 'prune', 'check', 'unlock']));
    expect(Object.keys(byKind)).not.toContain('restore');
    for (const k of ['backup', 'forget', 'prune']) {
      expect(byKind[k].properties.args.properties.limit_upload_kbps).toMatchObject({ type: 'integer', exclusiveMinimum: 0, description: expect.stringContaining('KiB/s') });
      expect(byKind[k].properties.args.properties.limit_download_kbps).toMatchObject({ type: 'integer', exclusiveMinimum: 0 });
    }
    expect(doc.paths['/api/hosts'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['limit', 'offset', 'tag', 'status']));
  });

  it('serves install.sh with the base URL substituted, and a clear 404 for a missing agent tarball', async () => {
    const r = await fetch(`${h.url}/install/install.sh`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain(`RM_BASE_URL="\${RM_BASE_URL:-${h.url}}"`);
    const tgz = await fetch(`${h.url}/install/agent.tgz`);
    if (tgz.status === 404) expect(await tgz.text()).toMatch(/agent.tgz is not available/);
  });

  it('runs a restore on the same host and records the audit trail, filterable by actor, target and time', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'restore-host');
    await agent.connect();
    const snapId = 'abcd1234'.padEnd(64, '0');
    agent.send({ type: 'snapshots.report', snapshots: [{ id: snapId, short_id: 'abcd1234', time: '2026-01-01T00:00:00Z', hostname: 'h', paths: ['/etc'], tags: [] }] });
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${hostId}/snapshots`)).body.total === 1);
    const since = new Date(Date.now() - 1000).toISOString();
    const r = await h.admin.req('POST', `/api/hosts/${hostId}/restore`, { snapshot_id: 'abcd1234', target: '/restore', include: ['/etc'] });
    expect(r.status).toBe(202);
    expect(await agent.next('command.run')).toMatchObject({ kind: 'restore', args: { snapshot_id: snapId, target: '/restore', include: ['/etc'], exclude: [], verify: false } });
    const audit = (await h.admin.req('GET', `/api/audit?target_kind=job&target_id=${r.body.job.id}`)).body.items;
    expect(audit.map((a: { action: string }) => a.action).sort()).toEqual(['agent.command.run', 'job.restore']);
    const byUser = (await h.admin.req('GET', `/api/audit?actor=user&action=job.restore&since=${encodeURIComponent(since)}`)).body;
    expect(byUser.total).toBe(1);
    expect(byUser.items[0]).toMatchObject({ actor_name: 'admin', target_kind: 'job' });
    expect((await h.admin.req('GET', `/api/audit?until=${encodeURIComponent(since)}&action=job.restore`)).body.total).toBe(0);
    await agent.close();
  });

  it('raises a backup_failed alert that an operator can acknowledge', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'alerting');
    await agent.connect();
    const run = await h.admin.req('POST', `/api/hosts/${hostId}/jobs`, { kind: 'backup', args: { paths: ['/'] } });
    await agent.next('command.run');
    agent.started(run.body.job.id, 'backup');
    agent.finished(run.body.job.id, 'failed', { error_kind: 'lock_failed' });
    const alerts = await eventually(async () => {
      const a = await h.admin.req('GET', `/api/alerts?host_id=${hostId}&open=true`);
      return a.body.total === 1 ? a.body : null;
    });
    expect((await h.admin.req('GET', `/api/hosts/${hostId}`)).body.open_alert_count).toBe(1);
    const ack = await h.admin.req('POST', `/api/alerts/${alerts.items[0].id}/ack`);
    expect(ack.body.acknowledged_at).not.toBeNull();
    await agent.close();
  });

  it('protects /metrics with the bearer or the allow-list, honouring X-Forwarded-For only from trusted proxies', async () => {
    expect((await fetch(`${h.url}/metrics`)).status).toBe(401);
    // The duration histogram is observed just after the job's end is stored (a read of its times).
    const text = await eventually(async () => {
      const t = await (await fetch(`${h.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-123456' } })).text();
      return t.includes('restic_manager_job_duration_seconds_bucket') ? t : null;
    });
    expect(text).toContain('restic_manager_build_info');
    expect(text).toMatch(/restic_manager_last_backup_status\{host="alerting"\} 0/);
    expect(text).toMatch(/restic_manager_jobs_total\{kind="backup",status="failed"\} 1/);
    expect(text).toContain('restic_manager_job_duration_seconds_bucket');
    // The test client is 127.0.0.1, a trusted proxy here, so its X-Forwarded-For is believed.
    expect((await fetch(`${h.url}/metrics`, { headers: { 'x-forwarded-for': '10.9.9.9' } })).status).toBe(200);
    expect((await fetch(`${h.url}/metrics`, { headers: { 'x-forwarded-for': '10.9.9.8' } })).status).toBe(401);
  });

  it('answers 404 with a clear message when install.sh is missing', async () => {
    const other = await startHarness({ installDir: path.join(installDir, 'nowhere') });
    try {
      const r = await fetch(`${other.url}/install/install.sh`);
      expect(r.status).toBe(404);
      expect(await r.text()).toMatch(/install.sh is not available on this server/);
    } finally {
      await other.close();
    }
  });

  it('answers 409 invalid_state, not 404, for the repository of a host that exists but is not enrolled yet', async () => {
    const add = await h.admin.req('POST', '/api/hosts', { name: 'not-enrolled', repository: REPO });
    const r = await h.admin.req('GET', `/api/hosts/${add.body.host_id}/repo`);
    expect(r.status, r.text).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'invalid_state', message: expect.stringContaining('not enrolled') });
    expect((await h.admin.req('GET', '/api/hosts/no-such-host/repo')).status).toBe(404);
  });

  it('refuses an e-mail channel address over the RFC 5321 lengths (local part 64, domain label 63) with a field error', async () => {
    const channel = (to: string) => ({ type: 'email', name: 'mail', config: { host: '127.0.0.1', port: 25, tls: 'none', from: 'rm@example.org', to: [to] } });
    for (const to of [`${'a'.repeat(65)}@example.org`, `ops@${'b'.repeat(64)}.example.org`]) {
      const r = await h.admin.req('POST', '/api/notification-channels', channel(to));
      expect(r.status, to).toBe(400);
      expect(r.body.error.fields).toHaveProperty(['config.to.0']);
    }
    const ok = await h.admin.req('POST', '/api/notification-channels', channel(`${'a'.repeat(64)}@${'b'.repeat(63)}.example.org`));
    expect(ok.status, ok.text).toBe(201);
  });

  // Last: the server answers 413 before reading the whole body and drops that connection.
  it('refuses bodies over 1 MiB with 413', async () => {
    const big = await h.admin.req('POST', '/api/hosts', { name: 'x'.repeat(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('too_large');
  });

});
