import type { VaultJobTarget, VaultSnapshotInfo, VaultTargetInput, VaultTargetView } from '@restic-manager/protocol';
import { AGENT_FEATURE_VAULT } from '@restic-manager/protocol';
import type { HostVaultRow } from '../repositories/vault.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, Repositories, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import { agentHasFeature, type AgentFacts } from './schedule-databases.js';

interface S3Keys {
  access_key_id?: string;
  secret_access_key?: string;
}

const aad = (hostId: string): string => `vault:${hostId}`;

type Location = Pick<HostVaultRow, 'storage_type' | 'local_path' | 's3_endpoint' | 's3_bucket' | 's3_prefix'>;
const locationOf = (r: Location): string => JSON.stringify([r.storage_type, r.local_path, r.s3_endpoint, r.s3_bucket, r.s3_prefix]);

/** Whether the host's agent announced `vault` at its last hello (older agents cannot run vault jobs). */
export function agentRunsVault(h: AgentFacts): boolean {
  return agentHasFeature(h, AGENT_FEATURE_VAULT);
}

/** The command that restores a vault snapshot on a trusted machine (placeholders, never a secret). */
export function restoreCommand(row: Location, snapshotId = '<snapshot-id>'): string {
  const q = (s: string): string => (/^[A-Za-z0-9_./:@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const key = 'VAULTIK_PRIVATE_KEY="$(grep AGE-SECRET-KEY vault-key.txt)"';
  if (row.storage_type === 'local') return `${key} restic-manager vault restore ${q(row.local_path ?? '')} '' ${snapshotId} /srv/restore`;
  const env = `AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=…${row.s3_endpoint ? ` VAULTIK_S3_ENDPOINT=${q(row.s3_endpoint)}` : ''}`;
  return `${env} ${key} restic-manager vault restore ${q(row.s3_bucket ?? '')} ${q(row.s3_prefix ?? '') || "''"} ${snapshotId} /srv/restore`;
}

/**
 * A host's vault target (docs/vault.md "Fleet"): admins set and clear it; vault jobs receive it
 * in their command.run. S3 keys are sealed at rest and never returned; no private key ever
 * reaches the server (the API refuses one pasted by mistake).
 */
export class VaultService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
  ) {}

  async get(hostId: string): Promise<VaultTargetView> {
    const row = await this.row(hostId);
    return this.view(row);
  }

  async set(actor: Actor, hostId: string, input: VaultTargetInput): Promise<VaultTargetView> {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    const old = await this.d.repos.vaults.findByHost(hostId);
    const now = iso(this.d.now());
    const s = input.storage;
    let keysEnc: string | null = null;
    let keysChanged = false;
    if (s.type === 's3') {
      const given: S3Keys = { ...(s.access_key_id ? { access_key_id: s.access_key_id } : {}), ...(s.secret_access_key ? { secret_access_key: s.secret_access_key } : {}) };
      if (Object.keys(given).length > 0) {
        keysEnc = this.d.box.sealJson(given, aad(hostId));
        keysChanged = true;
      } else if (old?.storage_type === 's3') keysEnc = old.keys_enc;
    } else keysChanged = old?.keys_enc != null;
    const row = {
      host_id: hostId, storage_type: s.type, local_path: s.type === 'local' ? s.path : null,
      s3_endpoint: s.type === 's3' ? (s.endpoint ?? null) : null, s3_bucket: s.type === 's3' ? s.bucket : null,
      s3_prefix: s.type === 's3' ? s.prefix : null, s3_region: s.type === 's3' ? s.region : null,
      keys_enc: keysEnc, age_recipient: input.age_recipient, chunk_size: input.chunk_size ?? null, blob_size_limit: input.blob_size_limit ?? null,
      created_at: old?.created_at ?? now, updated_at: now,
    };
    const moved = old !== undefined && locationOf(old) !== locationOf(row);
    await this.d.inTx(async (r) => {
      await r.vaults.upsert(row);
      // Another bucket or directory: the listed snapshots belonged to the old one.
      if (moved) await r.vaults.clearSnapshots(hostId);
      await this.audit.record(actor, 'host.vault.set', { kind: 'host', id: hostId }, {
        storage_type: s.type, location: s.type === 'local' ? s.path : `s3://${s.bucket}/${s.prefix}`, ...(s.type === 's3' && s.endpoint ? { endpoint: s.endpoint } : {}),
        age_recipient: input.age_recipient, secrets_changed: keysChanged, created: !old,
      }, r.audit);
    });
    return this.get(hostId);
  }

  async clear(actor: Actor, hostId: string): Promise<void> {
    if (!(await this.d.repos.hosts.findById(hostId))) throw notFound('host', hostId);
    if (!(await this.d.repos.vaults.delete(hostId))) throw new DomainError('not_found', 'this host has no vault target');
    await this.audit.record(actor, 'host.vault.clear', { kind: 'host', id: hostId }, { secrets_changed: true });
  }

  /** Refuses a vault job that cannot run: no target, or an agent that predates vault jobs. */
  async precheck(hostId: string): Promise<void> {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    if (!(await this.d.repos.vaults.findByHost(hostId))) throw new DomainError('invalid_state', `host ${host.name} has no vault target: set one first (PUT /api/hosts/${hostId}/vault)`);
    if (host.last_seen_at && !agentRunsVault(host)) {
      throw new DomainError('invalid_state', `the agent of ${host.name} (version ${host.agent_version ?? 'unknown'}) cannot run vault jobs (it predates them or was installed without the vault engine): upgrade it, or see why with 'restic-manager-agent version' on the host`);
    }
  }

  /** The target for one command.run (S3 keys opened from the secret box; never logged). */
  async targetFor(hostId: string, r: Repositories = this.d.repos): Promise<VaultJobTarget> {
    const row = await r.vaults.findByHost(hostId);
    if (!row) throw new DomainError('invalid_state', 'the host has no vault target any more');
    const keys = row.keys_enc ? this.d.box.openJson<S3Keys>(row.keys_enc, aad(hostId)) : {};
    return {
      storage: row.storage_type === 'local'
        ? { type: 'local', path: row.local_path ?? '' }
        : { type: 's3', bucket: row.s3_bucket ?? '', prefix: row.s3_prefix ?? '', region: row.s3_region ?? 'us-east-1', ...(row.s3_endpoint ? { endpoint: row.s3_endpoint } : {}), ...keys },
      age_recipient: row.age_recipient,
      ...(row.chunk_size ? { chunk_size: row.chunk_size } : {}),
      ...(row.blob_size_limit ? { blob_size_limit: row.blob_size_limit } : {}),
    };
  }

  /** A vault_drill job's target: the vault of the host its restore_drills row drills (the job runs on the drill host). */
  async drillTargetFor(jobId: string, r: Repositories = this.d.repos): Promise<VaultJobTarget> {
    const drill = await r.drills.findByJob(jobId);
    if (!drill) throw new DomainError('invalid_state', 'this vault drill has no drill record');
    return this.targetFor(drill.host_id, r);
  }

  /** Stores the agent's vault.snapshots.report (replaces the previous list). */
  async snapshotsReported(hostId: string, snapshots: VaultSnapshotInfo[]): Promise<void> {
    await this.d.repos.vaults.setSnapshots(hostId, JSON.stringify(snapshots), iso(this.d.now()));
  }

  private async row(hostId: string): Promise<HostVaultRow> {
    if (!(await this.d.repos.hosts.findById(hostId))) throw notFound('host', hostId);
    const row = await this.d.repos.vaults.findByHost(hostId);
    if (!row) throw new DomainError('not_found', 'this host has no vault target');
    return row;
  }

  private view(row: HostVaultRow): VaultTargetView {
    const snaps = row.snapshots ? (JSON.parse(row.snapshots) as VaultSnapshotInfo[]) : [];
    return {
      host_id: row.host_id,
      storage: row.storage_type === 'local'
        ? { type: 'local', path: row.local_path ?? '' }
        : { type: 's3', endpoint: row.s3_endpoint, bucket: row.s3_bucket ?? '', prefix: row.s3_prefix ?? '', region: row.s3_region ?? '', keys_set: row.keys_enc !== null },
      age_recipient: row.age_recipient, chunk_size: row.chunk_size, blob_size_limit: row.blob_size_limit, updated_at: row.updated_at,
      snapshots: [...snaps].sort((a, b) => b.id.localeCompare(a.id)),
      snapshots_reported_at: row.snapshots_at,
      restore_command: restoreCommand(row),
    };
  }
}
