import { z } from 'zod';
import { DRILL_DEFAULT_BYTES, DRILL_DEFAULT_FILES, DRILL_MAX_FILES, RestoreDrillRequest } from './restore-drill.js';

/*
 * Vault drills (issue 16, docs/recoverability.md "Vault drills"): a seeded sample of a vault
 * target's latest snapshot restored on a host an admin marked trusted for vault drills, which
 * holds the age identity (secret key) in a file of its own. The identity never passes through
 * the server and never reaches the backed-up host; the trusted agent reports only whether it
 * holds one and its public recipient. The result lands in `restore_drills` like a restic drill.
 */

/** `hello.features` value: the agent runs `vault_drill` jobs (with a configured identity file). */
export const AGENT_FEATURE_VAULT_DRILL = 'vault_drill';

/** `hello.vault_identity`: the identity's public recipient, or why the identity file is refused. */
export const VaultIdentityStatus = z.object({
  /** The age1… recipient of the identity; null when the file was refused. */
  recipient: z.string().max(128).nullable(),
  /** Why the identity file cannot be used (mode, owner, content); null when it can. */
  error: z.string().max(1000).nullable(),
});
export type VaultIdentityStatus = z.infer<typeof VaultIdentityStatus>;

/** Arguments of a `vault_drill` job (the server fills them; the target travels in command.run.vault). */
export const VaultDrillArgs = z
  .object({
    /** The vault snapshot to drill (the server picks the target's latest). */
    snapshot_id: z.string().min(1).max(128),
    sample_files: z.number().int().min(1).max(DRILL_MAX_FILES).default(DRILL_DEFAULT_FILES),
    sample_bytes: z.number().int().min(1).max(2 ** 50).default(DRILL_DEFAULT_BYTES),
    seed: z.string().min(1).max(64).default('restic-manager'),
  })
  .strict();
export type VaultDrillArgs = z.infer<typeof VaultDrillArgs>;

/**
 * `POST /api/hosts/:id/vault-drills`: drill the host's vault target on a trusted host now. The same
 * fields as a restore drill's request; `drill_host_id` is the trusted host that holds the identity
 * (absent = the one trusted host whose identity matches).
 */
export const VaultDrillRequest = RestoreDrillRequest;
export type VaultDrillRequest = z.infer<typeof VaultDrillRequest>;

/** `PUT /api/hosts/:id/vault-drill-trust` (admin, audited). */
export const VaultDrillTrustInput = z.object({ trusted: z.boolean() }).strict();
export type VaultDrillTrustInput = z.infer<typeof VaultDrillTrustInput>;

/** `GET /api/hosts/:id/vault-drill-trust`: the mark and what the agent reported (never a secret). */
export const VaultDrillTrustView = z.object({
  host_id: z.string(),
  trusted: z.boolean(),
  trusted_at: z.string().nullable(),
  /** The identity's public recipient as the agent last reported it; null = none reported. */
  identity_recipient: z.string().nullable(),
  /** Why the agent refused its identity file (mode, owner, content); null = no error. */
  identity_error: z.string().nullable(),
  identity_reported_at: z.string().nullable(),
});
export type VaultDrillTrustView = z.infer<typeof VaultDrillTrustView>;
