import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as protocol from '@restic-manager/protocol';
import * as wire from '../src/wire.js';

const S3_REPO = {
  id: 'repo-s3', name: 'offsite', engine: 'restic', url: 's3:https://s3.example/bkt/h1', password: 'repo-pw',
  credentials: { backend: 's3', access_key_id: 'AKIA1', secret_access_key: 'sk', path_style: true }, tls_ca_pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
};
const SFTP_REPO = {
  id: 'repo-sftp', name: 'nas', engine: 'rustic', url: 'sftp:backup@nas:/srv/restic', password: 'repo-pw',
  credentials: { backend: 'sftp', private_key: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n', known_hosts: 'nas ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA' },
};

describe('wire (the light validator the idle agent uses)', () => {
  it('takes its constants from the protocol\'s zod-free entry, which imports nothing (the idle agent never builds zod schemas)', () => {
    const src = readFileSync(fileURLToPath(new URL('../../protocol/src/wire.ts', import.meta.url)), 'utf8');
    expect(src).not.toMatch(/^\s*import\s/m);
    expect(wire.CloseCode).toBe(protocol.CloseCode);
    expect(wire.MAX_FRAME_BYTES).toBe(protocol.MAX_FRAME_BYTES);
    expect([...wire.JOB_KINDS]).toEqual(protocol.JobKind.options);
  });

  const valid: object[] = [
    { type: 'hello', protocol_version: 1, server_version: '0.1.0', host_id: 'h' },
    { type: 'hello', protocol_version: 1, server_version: '0.2.0', host_id: 'h', outbox_acks: true },
    { type: 'ack', outbox_seq: 42 },
    { type: 'command.run', job_id: 'j', kind: 'backup', args: { paths: ['/etc'] }, credential: { repository: '/r', password: 'p', rest_username: 'u', rest_password: 'q' } },
    { type: 'command.cancel', job_id: 'j' },
    { type: 'schedule.set', schedule_version: 3, schedules: [{ id: 's', kind: 'forget', cron_expr: '0 3 * * *', enabled: true, paths: [], excludes: [], tags: [], retention_policy: { keep_last: 3 }, options: { limit_upload_kbps: 10 }, pre_hook: null, post_hook: null, run_as: null }] },
    { type: 'config.update', repository: 'rest:http://x/h/', password: 'pw', rest_username: 'h', rest_password: 'r' },
    { type: 'agent.update.available', version: '0.2.0', url: 'https://x' },
    { type: 'error', code: 'protocol_too_old', message: 'upgrade', upgrade_url: 'https://x' },
    { type: 'command.run', job_id: 'j', kind: 'restore', args: {}, credential: { repository: '/r', password: 'p', note: 'temporary key' } },
    { type: 'snapshot.ls', request_id: 'r1', snapshot_id: 'abcdef0123456789', path: '/home', limit: 50, offset: 100 },
    { type: 'repo.key.add', request_id: 'r2', job_id: 'j', password: 'a-sixteen-char-password' },
    { type: 'repo.key.remove', request_id: 'r3', job_id: 'j', key_id: '0123abcd' },
    { type: 'repo.key.remove', request_id: 'r4', job_id: 'j', key_id: '0123abcd', credential: { repository: 'rest:http://x/h/', password: 'p', rest_username: 'h', rest_password: 'm' } },
    // issue 15: repositories as objects
    { type: 'repo.test', request_id: 'r5', repository: SFTP_REPO },
    { type: 'command.run', job_id: 'j2', kind: 'backup', args: { paths: ['/etc'] }, repository: S3_REPO },
    { type: 'config.update', repository: '/r', password: 'pw', repositories: [S3_REPO, SFTP_REPO] },
    { type: 'schedule.set', schedule_version: 4, schedules: [{ id: 's', kind: 'backup', cron_expr: '0 3 * * *', enabled: true, paths: ['/etc'], excludes: [], tags: [], retention_policy: null, options: {}, pre_hook: null, post_hook: null, run_as: null, repository_id: 'repo-s3' }] },
    // issue 16: snapshot diff and retention preview
    { type: 'snapshot.diff', request_id: 'r6', from_snapshot_id: 'abcdef01', to_snapshot_id: 'abcdef0123456789', limit: 100, offset: 0 },
    { type: 'forget.preview', request_id: 'r7', policy: { keep_last: 1, keep_daily: 7, keep_within: '1y6m', keep_tag: ['a'] }, tags: ['db'] },
    { type: 'download.start', request_id: 'd-1', snapshot_id: 'abcdef01', path: '/srv/www', format: 'zip', max_bytes: 1024, window: 16 },
    { type: 'download.credit', request_id: 'd-1', chunks: 8 },
    { type: 'download.cancel', request_id: 'd-1' },
    // issue 21: concurrency caps
    { type: 'slot.grant', job_id: 'j3' },
    { type: 'schedule.set', schedule_version: 5, schedules: [{ id: 's', kind: 'backup', cron_expr: '0 3 * * *', enabled: true, paths: ['/etc'], excludes: [], tags: [], retention_policy: null, options: {}, pre_hook: null, post_hook: null, run_as: null, capped: true }] },
  ];

  it('covers every server -> agent frame type of the protocol', () => {
    const types = protocol.ServerMessage.options.map((o) => o.shape.type.value);
    expect(new Set(valid.map((f) => (f as { type: string }).type))).toEqual(new Set(types));
  });

  it('accepts every frame the protocol schema accepts, with the same content', () => {
    for (const f of valid) {
      const z = protocol.parseFrame(protocol.ServerMessage, JSON.stringify(f), protocol.MAX_FRAME_BYTES);
      expect(z.ok, JSON.stringify(f)).toBe(true);
      const w = wire.parseServerFrame(JSON.stringify(f));
      expect(w, JSON.stringify(f)).toEqual({ ok: true, value: expect.objectContaining({ type: (f as { type: string }).type }) });
      if (w.ok && z.ok) expect(w.value).toMatchObject(JSON.parse(JSON.stringify(f)) as object);
    }
  });

  const invalid: [unknown, RegExp][] = [
    ['not json', /not valid JSON/],
    [{ type: 'nope' }, /unknown frame type/],
    [{ type: 'command.run', kind: 'format-disk' }, /job_id/],
    [{ type: 'command.run', job_id: '', kind: 'backup' }, /job_id/],
    [{ type: 'config.update', repository: 'r', password: 42 }, /password: expected a string/],
    [{ type: 'schedule.set', schedule_version: -1, schedules: [] }, /schedule_version/],
    [{ type: 'schedule.set', schedule_version: 1, schedules: [{ id: 's', kind: 'backup', cron_expr: '* * * * *' }] }, /schedules\.0\.enabled/],
    [{ type: 'hello', protocol_version: '1', server_version: 'x', host_id: 'h' }, /protocol_version/],
    [{ type: 'hello', protocol_version: 1, server_version: 'x', host_id: 'h', outbox_acks: 'yes' }, /outbox_acks/],
    [{ type: 'ack', outbox_seq: 0 }, /outbox_seq/],
    [{ type: 'slot.grant' }, /job_id/],
    [{ type: 'slot.grant', job_id: 'j'.repeat(65) }, /job_id/],
    [{ type: 'schedule.set', schedule_version: 1, schedules: [{ id: 's', kind: 'backup', cron_expr: '* * * * *', enabled: true, capped: 'yes' }] }, /schedules\.0\.capped/],
    [{ type: 'ack' }, /outbox_seq/],
    [{ type: 'snapshot.ls', request_id: 'r', snapshot_id: 'latest', path: '/', limit: 1, offset: 0 }, /snapshot_id/],
    [{ type: 'snapshot.ls', request_id: 'r', snapshot_id: 'abcdef01', path: 'home', limit: 1, offset: 0 }, /path/],
    [{ type: 'snapshot.ls', request_id: 'r', snapshot_id: 'abcdef01', path: '/', limit: 4200, offset: 0 }, /limit/],
    [{ type: 'repo.key.add', request_id: 'r', job_id: 'j', password: 'short' }, /password/],
    [{ type: 'repo.test', request_id: 'r' }, /^repository: expected an object/],
    [{ type: 'repo.test', request_id: 'r', repository: { ...S3_REPO, password: 42 } }, /^repository\.password: expected a string/],
    [{ type: 'repo.test', request_id: 'r', repository: { ...S3_REPO, engine: 'borg' } }, /^repository\.engine: expected restic or rustic/],
    [{ type: 'command.run', job_id: 'j', kind: 'backup', repository: { ...S3_REPO, credentials: { secret_access_key: 'x42' } } }, /^repository\.credentials\.backend: expected a string/],
    [{ type: 'config.update', repository: '/r', password: 'p', repositories: [S3_REPO, { ...S3_REPO, url: 42 }] }, /^repositories\.1\.url: expected a string/],
  ];

  it.each(invalid)('rejects %j naming the field, never echoing values', (frame, re) => {
    const r = wire.parseServerFrame(typeof frame === 'string' ? frame : JSON.stringify(frame));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toMatch(re);
      expect(r.message).not.toContain('42');
    }
  });

  it('turns a command.run of an unknown kind into command.unsupported (the agent reports the job failed)', () => {
    expect(wire.parseServerFrame(JSON.stringify({ type: 'command.run', job_id: 'j1', kind: 'vault_sync', args: {} }))).toEqual({ ok: true, value: { type: 'command.unsupported', job_id: 'j1', kind: 'vault_sync' } });
  });

  it('rejects oversized frames before parsing', () => {
    const r = wire.parseServerFrame('x'.repeat(wire.MAX_FRAME_BYTES + 1));
    expect(r).toEqual({ ok: false, message: expect.stringMatching(/exceeds/) });
  });
});
