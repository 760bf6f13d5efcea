import type { ClusterBus } from '../cluster/bus.js';
import type { Logger } from 'pino';
import type { ServerMessage } from '@restic-manager/protocol';
import type { SecretBox } from '../crypto/secret-box.js';
import type { AlertRepository } from '../repositories/alert.repository.js';
import type { ApiTokenRepository } from '../repositories/api-token.repository.js';
import type { AuditRepository } from '../repositories/audit.repository.js';
import type { ControlPlaneBackupRepository } from '../repositories/control-plane-backup.repository.js';
import type { TagWindowsRepository, WindowWaitRepository } from '../repositories/tag-windows.repository.js';
import type { CopyPolicyRepository } from '../repositories/copy-policy.repository.js';
import type { EnrollmentRepository } from '../repositories/enrollment.repository.js';
import type { HostRepository } from '../repositories/host.repository.js';
import type { JobRepository } from '../repositories/job.repository.js';
import type { RepoRepository } from '../repositories/repo.repository.js';
import type { RestoreCredentialRepository } from '../repositories/restore-credential.repository.js';
import type { VaultDrillHostRepository } from '../repositories/vault-drill-host.repository.js';
import type { RestoreDrillRepository } from '../repositories/restore-drill.repository.js';
import type { ScheduleRepository } from '../repositories/schedule.repository.js';
import type { SessionRepository } from '../repositories/session.repository.js';
import type { SnapshotRepository } from '../repositories/snapshot.repository.js';
import type { TotpRepository } from '../repositories/totp.repository.js';
import type { UserRepository } from '../repositories/user.repository.js';
import type { VaultRepository } from '../repositories/vault.repository.js';
import type { QuarantineRepository } from '../repositories/quarantine.repository.js';
import type { SnapshotLedgerRepository } from '../repositories/snapshot-ledger.repository.js';
import type { LoginAttemptRepository } from '../repositories/login-attempt.repository.js';
import type { SlotRepository } from '../repositories/slot.repository.js';
import type { Db } from '../store/db.js';

export interface Repositories {
  users: UserRepository;
  sessions: SessionRepository;
  hosts: HostRepository;
  repos: RepoRepository;
  enrollment: EnrollmentRepository;
  schedules: ScheduleRepository;
  jobs: JobRepository;
  snapshots: SnapshotRepository;
  alerts: AlertRepository;
  audit: AuditRepository;
  restoreCredentials: RestoreCredentialRepository;
  vaults: VaultRepository;
  loginAttempts: LoginAttemptRepository;
  quarantine: QuarantineRepository;
  /** Copy policies and their per-host runs (migration 0017). */
  copies: CopyPolicyRepository;
  /** Migration 0019: the snapshot ledger and repository integrity (issue 16). */
  ledger: SnapshotLedgerRepository;
  /** Migration 0031: restore drills (issue 16). */
  drills: RestoreDrillRepository;
  /** Migration 0040: hosts trusted for vault drills and their reported identity (issue 16). */
  vaultDrillHosts: VaultDrillHostRepository;
  /** Migration 0032: API tokens (issue 21). */
  apiTokens: ApiTokenRepository;
  /** Migration 0033: TOTP second factor (issue 21). */
  totp: TotpRepository;
  /** Migration 0035: the control plane's own backup schedule (issue 20). */
  controlPlaneBackup: ControlPlaneBackupRepository;
  tagWindows: TagWindowsRepository;
  windowWaits: WindowWaitRepository;
  /** Migration 0038: concurrency caps and job slots (issue 21). */
  slots: SlotRepository;
}

/**
 * The live agent sockets, as services see them. Implemented by ws/agent-registry.ts.
 * `send` returns false when the host has no open socket (nothing is queued by the link).
 */
export interface AgentLink {
  send(hostId: string, msg: ServerMessage): boolean;
  isConnected(hostId: string): boolean;
  /** Closes the host's socket (e.g. host deleted or bearer revoked). */
  disconnect(hostId: string, code: number, reason: string): void;
  connectedCount(): number;
  /**
   * Whether this server process holds the host's socket. With several replicas (docs/scale-out.md)
   * a host may be connected to another one: frames reach it over the bus; binary streams
   * (downloads) come over HTTP from that replica (DownloadRelay).
   * Absent = one process: connected means local.
   */
  isLocal?(hostId: string): boolean;
  /** A job for the host stays queued because it is not connected as far as this process knows (a cluster link asks the other replicas). */
  unreached?(hostId: string): void;
}

/** The API token a user actor acted through (recorded in each audit row's payload as `via`). */
export interface ActorToken {
  kind: 'api_token';
  id: string;
  name: string;
}

/** Who performs an action; recorded in the audit log. */
export type Actor =
  | { kind: 'user'; id: string; name: string; role: 'admin' | 'operator' | 'viewer'; via?: ActorToken }
  | { kind: 'agent'; hostId: string; name: string }
  | { kind: 'system' };

export interface ServiceDeps {
  db: Db;
  repos: Repositories;
  box: SecretBox;
  log: Logger;
  agents: AgentLink;
  /** The replicas' bus (PostgreSQL store only; docs/scale-out.md); absent with one process. */
  bus?: ClusterBus;
  /** Whether another replica may listen on the bus now (cluster presence); without it, a bus always may. */
  busPeers?: () => boolean;
  /** Milliseconds since the epoch; injectable for expiry tests. */
  now: () => number;
  /** Runs `fn` in one transaction with repositories bound to it (see repositories/index.ts). */
  inTx: <T>(fn: (r: Repositories) => Promise<T>) => Promise<T>;
  /** Public base URL (no trailing slash), resolved after the socket is bound. */
  baseUrl: () => string;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
