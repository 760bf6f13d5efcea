import { describe, expect, it } from 'vitest';
import { CommandRun, RunJobRequest, VaultTargetInput, isAgeRecipient } from '@restic-manager/protocol';

// A throwaway key pair made with X25519Identity.generate() for this test.
const RECIPIENT = 'age1d6e0x5hfamz0hztz5qscux3m87f7lhd7kgalsgsr26k84mgt0e7s3ukm54';
const PRIVATE = 'AGE-SECRET-KEY-1YQRJALCUJNZRUP0VZX7AWFXYPPGHSDP8WC2WJR82VRMWPP9J54JQNMFUQN';

describe('vault target validation', () => {
  it('accepts an age1 recipient and verifies its bech32 checksum', () => {
    expect(isAgeRecipient(RECIPIENT)).toBe(true);
    expect(isAgeRecipient(`${RECIPIENT.slice(0, -1)}q`)).toBe(false);
    expect(isAgeRecipient(RECIPIENT.slice(0, -2))).toBe(false);
  });

  it('refuses a pasted private key, telling the admin to paste the age1 recipient, without echoing it', () => {
    const r = VaultTargetInput.safeParse({ storage: { type: 'local', path: '/srv/vault' }, age_recipient: PRIVATE });
    expect(r.success).toBe(false);
    const msg = r.error!.issues[0]!.message;
    expect(msg).toMatch(/PRIVATE key/);
    expect(msg).toMatch(/age1/);
    expect(msg).not.toContain(PRIVATE);
  });

  it('needs an absolute local path and a bucket name', () => {
    expect(VaultTargetInput.safeParse({ storage: { type: 'local', path: 'rel/dir' }, age_recipient: RECIPIENT }).success).toBe(false);
    expect(VaultTargetInput.safeParse({ storage: { type: 's3', bucket: '' }, age_recipient: RECIPIENT }).success).toBe(false);
    const ok = VaultTargetInput.parse({ storage: { type: 's3', bucket: 'b1' }, age_recipient: ` ${RECIPIENT} ` });
    expect(ok).toEqual({ storage: { type: 's3', bucket: 'b1', prefix: '', region: 'us-east-1' }, age_recipient: RECIPIENT });
  });

  it('run-now accepts the vault kinds with their own arguments', () => {
    expect(RunJobRequest.parse({ kind: 'vault_check', args: {} })).toEqual({ kind: 'vault_check', args: { read_data: false } });
    expect(RunJobRequest.safeParse({ kind: 'vault_backup', args: { paths: [] } }).success).toBe(false);
    expect(RunJobRequest.safeParse({ kind: 'vault_backup', args: { paths: ['/etc'], tags: ['x'] } }).success).toBe(false);
  });

  it('command.run carries the vault target additively', () => {
    const m = CommandRun.parse({ type: 'command.run', job_id: 'j1', kind: 'vault_backup', args: { paths: ['/etc'] }, vault: { storage: { type: 'local', path: '/v' }, age_recipient: RECIPIENT } });
    expect(m.vault?.storage).toEqual({ type: 'local', path: '/v' });
  });
});
