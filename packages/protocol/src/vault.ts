import { z } from 'zod';
import { RetentionPolicy } from './common.js';

/*
 * Vault jobs (docs/vault.md "Fleet"): the zero-trust engine run by the agent. The server holds a
 * host's vault target (storage + age RECIPIENT); it never receives an age private key. The
 * target travels inside the one `command.run` that needs it (field `vault`) and the agent keeps
 * it in memory for that job only.
 */

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function bech32Polymod(values: number[]): number {
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= gen[i]!;
  }
  return chk >>> 0;
}

/** True when `s` is a well-formed age X25519 recipient (`age1` + 32-byte key, bech32 checksum). */
export function isAgeRecipient(s: string): boolean {
  if (!/^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/.test(s)) return false;
  const data = [...s.slice(4)].map((c) => BECH32.indexOf(c));
  const hrp = 'age';
  const expanded = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
  return bech32Polymod([...expanded, ...data]) === 1;
}

/** A pasted private key is refused with this message (the value is never echoed nor stored). */
export const PRIVATE_KEY_PASTED =
  'this is an age PRIVATE key (AGE-SECRET-KEY-1…): it must never leave your trusted machine and was not stored. Paste the public recipient instead: the age1… line printed as "public key" by `restic-manager vault keygen` or age-keygen';

export const AgeRecipientInput = z.string().trim().superRefine((v, ctx) => {
  if (/AGE-SECRET-KEY-/i.test(v)) ctx.addIssue({ code: 'custom', message: PRIVATE_KEY_PASTED });
  else if (!isAgeRecipient(v)) ctx.addIssue({ code: 'custom', message: 'expected an age X25519 recipient: age1 followed by 58 characters (the "public key" line of your key file)' });
}).meta({ description: 'an age X25519 recipient (age1…, bech32 with a valid checksum)', pattern: '^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$', examples: ['age1d6e0x5hfamz0hztz5qscux3m87f7lhd7kgalsgsr26k84mgt0e7s3ukm54'] });

const size = z.number().int().positive();
const s3Fields = {
  endpoint: z.string().url().max(2048).optional(),
  bucket: z.string().min(1).max(255).regex(/^[A-Za-z0-9._-]+$/, 'a bucket name'),
  prefix: z.string().max(1024).default(''),
  region: z.string().min(1).max(64).default('us-east-1'),
};

/** `PUT /api/hosts/:id/vault` body. S3 keys are sealed at rest; omit them to keep the stored ones. */
export const VaultTargetInput = z
  .object({
    storage: z.discriminatedUnion('type', [
      z.object({
        type: z.literal('s3'), ...s3Fields,
        access_key_id: z.string().min(1).max(256).optional(),
        secret_access_key: z.string().min(1).max(1024).optional(),
      }).strict(),
      z.object({ type: z.literal('local'), path: z.string().min(2).max(4096).regex(/^\//, 'an absolute directory path on the host') }).strict(),
    ]),
    age_recipient: AgeRecipientInput,
    // The vault's own bounds (packages/vault config.ts): 64 KiB to 64 MiB; a blob at least one chunk.
    chunk_size: size.min(64 * 1024, 'at least 64 KiB (65536)').max(64 * 1024 * 1024, 'at most 64 MiB (67108864)').optional(),
    blob_size_limit: size.min(64 * 1024, 'at least 64 KiB (65536)').max(Number.MAX_SAFE_INTEGER, 'at most 2^53 - 1').optional(),
  })
  .strict();
export type VaultTargetInput = z.infer<typeof VaultTargetInput>;

/** The target as delivered to the agent in `command.run.vault` (S3 keys included, for that job only). */
export const VaultJobTarget = z.object({
  storage: z.discriminatedUnion('type', [
    z.object({
      type: z.literal('s3'), endpoint: z.string().optional(), bucket: z.string().min(1), prefix: z.string(), region: z.string(),
      access_key_id: z.string().optional(), secret_access_key: z.string().optional(),
    }),
    z.object({ type: z.literal('local'), path: z.string().min(1) }),
  ]),
  age_recipient: z.string().min(1),
  chunk_size: size.optional(),
  blob_size_limit: size.optional(),
});
export type VaultJobTarget = z.infer<typeof VaultJobTarget>;

export const VaultBackupArgs = z.object({ paths: z.array(z.string().min(1).regex(/^\//, 'an absolute path')).min(1, 'at least one path is required'), excludes: z.array(z.string()).default([]) }).strict();
export const VaultPruneArgs = z.object({ policy: RetentionPolicy.optional() }).strict();
/** `read_data`: download every referenced blob and verify its SHA-256 (default: existence only). */
export const VaultCheckArgs = z.object({ read_data: z.boolean().default(false) }).strict();
export const VaultSnapshotsArgs = z.object({}).strict();

export const VAULT_JOB_KINDS = ['vault_backup', 'vault_snapshots', 'vault_prune', 'vault_check'] as const;
export const isVaultKind = (k: string): boolean => (VAULT_JOB_KINDS as readonly string[]).includes(k);

/** One committed vault snapshot (the listing needs no key: id, time, metadata size). */
export const VaultSnapshotInfo = z.object({
  id: z.string().min(1).max(128),
  time: z.string().max(64),
  metadata_bytes: z.number().int().nonnegative(),
});
export type VaultSnapshotInfo = z.infer<typeof VaultSnapshotInfo>;

/** Agent -> server: the vault's committed snapshots, after a vault job (replaces the previous list). */
export const VaultSnapshotsReport = z.object({
  type: z.literal('vault.snapshots.report'),
  outbox_seq: z.number().int().positive().optional(),
  job_id: z.string().min(1).max(64).optional(),
  snapshots: z.array(VaultSnapshotInfo).max(100_000),
});
export type VaultSnapshotsReport = z.infer<typeof VaultSnapshotsReport>;

/** `GET /api/hosts/:id/vault`: the target without secrets, its snapshots, and how to restore. */
export const VaultTargetView = z.object({
  host_id: z.string(),
  storage: z.discriminatedUnion('type', [
    z.object({ type: z.literal('s3'), endpoint: z.string().nullable(), bucket: z.string(), prefix: z.string(), region: z.string(), keys_set: z.boolean() }),
    z.object({ type: z.literal('local'), path: z.string() }),
  ]),
  age_recipient: z.string(),
  chunk_size: z.number().nullable(),
  blob_size_limit: z.number().nullable(),
  updated_at: z.string(),
  snapshots: z.array(VaultSnapshotInfo),
  snapshots_reported_at: z.string().nullable(),
  /** The CLI command that restores a snapshot on a trusted machine (no secret in it). */
  restore_command: z.string(),
});
export type VaultTargetView = z.infer<typeof VaultTargetView>;
