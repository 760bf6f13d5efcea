import { randomUUID } from 'node:crypto';
import type {
  BackendCredentials, CreateRepositoryRequest, HostRepositoryView, RepoTestResult, RepoTestResultFrame, RepositoryConfig, RepositoryView, UpdateRepositoryRequest,
} from '@restic-manager/protocol';
import { BackendCredentials as BackendCredentialsSchema, SECRET_FIELDS, backendOfUrl, credentialSecrets, credentialsView } from '@restic-manager/protocol';
import { generatePassword } from '../crypto/tokens.js';
import type { RepoRow } from '../repositories/repo.repository.js';
import type { AgentRequests } from './agent-requests.js';
import type { AuditService } from './audit.service.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import type { HostService } from './host.service.js';
import type { JobService } from './job.service.js';
import { repoKind } from './repo-secrets.js';
import { backendOf, credentialsAad, openRepository, repositoryConfig } from './repository-config.js';

/** How long `repo.test` waits for the agent (restic may have to reach a slow backend). */
export const REPO_TEST_TIMEOUT_MS = 60_000;

/**
 * Repositories as their own objects (issue 15, docs/repositories.md): CRUD, host links and the
 * connection test through an agent. Secrets (password, backend credentials) are sealed at rest
 * and never leave this service except inside a RepositoryConfig for an agent; views and audit
 * payloads carry `<field>_set` / `credentials_changed` flags only.
 */
export class RepositoryService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
    private readonly hosts: HostService,
    private readonly requests: AgentRequests,
    private readonly jobs: JobService,
  ) {}

  async list(limit: number, offset: number) {
    const { rows, total } = await this.d.repos.repos.list(limit, offset);
    const links = await this.d.repos.repos.linksOfRepos(rows.map((r) => r.id));
    const items: RepositoryView[] = [];
    for (const r of rows) items.push(await this.view(r, links.filter((l) => l.repo_id === r.id).map((l) => l.host_id)));
    return { items, total, limit, offset };
  }

  async get(id: string): Promise<RepositoryView> {
    return this.view(await this.row(id));
  }

  /** A new repository (or an existing one, `import`): the generated password is returned once. */
  async create(actor: Actor, input: CreateRepositoryRequest) {
    const backend = backendOfUrl(input.url);
    if (!backend) throw new DomainError('validation_failed', 'url: not a restic location', { url: 'not a restic location' });
    const generated = input.password ? undefined : generatePassword();
    const password = input.password ?? generated ?? '';
    const now = iso(this.d.now());
    const id = randomUUID();
    await this.d.inTx(async (r) => {
      const pwId = randomUUID();
      await r.repos.insertCredential({ id: pwId, kind: 'repo_password', username: null, secret_enc: this.d.box.seal(password, `credential:${pwId}`), rotated_at: now });
      await r.repos.insert({
        id, name: input.name, url: input.url, kind: repoKind(input.url), credential_id: null, password_secret_id: pwId,
        size_bytes: null, snapshot_count: null, dedup_ratio: null, last_check_at: null, last_check_status: null, lock_state: null,
        append_only: input.append_only ? 1 : 0, credential_rotated_at: now, created_at: now, updated_at: now,
        engine: input.engine, backend, tls_ca_pem: input.tls_ca_pem ?? null,
        credentials_enc: input.credentials ? this.d.box.sealJson(input.credentials, credentialsAad(id)) : null,
      });
      await this.audit.record(actor, 'repository.create', { kind: 'repository', id }, {
        name: input.name, url: input.url, engine: input.engine, backend, import: input.import, append_only: input.append_only ?? false,
        password_generated: !!generated, credentials_set: !!input.credentials, tls_ca_set: !!input.tls_ca_pem,
      }, r.audit);
    });
    return { repository: await this.get(id), ...(generated ? { generated_password: generated } : {}) };
  }

  /**
   * Changes name, credentials (replaced whole), CA bundle or append-only. With `keepSecrets`
   * (the web form, whose secret inputs are never pre-filled) a secret field left out keeps the
   * stored value when the backend is unchanged. Linked, connected agents get config.update.
   */
  async update(actor: Actor, id: string, input: UpdateRepositoryRequest | (Omit<UpdateRepositoryRequest, 'credentials'> & { credentials?: Record<string, unknown> }), opts: { keepSecrets?: boolean } = {}) {
    const row = await this.row(id);
    const backend = backendOf(row);
    let credentials: BackendCredentials | undefined;
    if (input.credentials) {
      const opened = await openRepository(this.d.repos.repos, this.d.box, row);
      credentials = this.checkCredentials(backend, input.credentials, opts.keepSecrets ? opened.credentials : null);
      // A form saved without touching the credentials changes nothing (and audits no change).
      if (opts.keepSecrets && canonical(credentials) === canonical(opened.credentials)) credentials = undefined;
    }
    if (input.append_only) {
      const c = credentials ?? (await openRepository(this.d.repos.repos, this.d.box, row)).credentials;
      if (!(c?.backend === 'rest' && c.username)) {
        throw new DomainError('validation_failed', 'append_only: append-only is enforced only by a REST server with a per-host user', { append_only: 'needs a REST repository with a user' });
      }
    }
    const now = iso(this.d.now());
    await this.d.inTx(async (r) => {
      await r.repos.update(id, {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.tls_ca_pem !== undefined ? { tls_ca_pem: input.tls_ca_pem } : {}),
        ...(input.append_only !== undefined ? { append_only: input.append_only ? 1 : 0 } : {}),
        ...(credentials ? { credentials_enc: this.d.box.sealJson(credentials, credentialsAad(id)), credential_id: null, credential_rotated_at: now } : {}),
        updated_at: now,
      });
      // The legacy REST login row (before migration 0016) is superseded by credentials_enc.
      if (credentials && row.credential_id) await r.repos.deleteCredential(row.credential_id);
      await this.audit.record(actor, 'repository.update', { kind: 'repository', id }, {
        ...(input.name !== undefined ? { name: input.name } : {}),
        credentials_changed: !!credentials, tls_ca_changed: input.tls_ca_pem !== undefined,
        ...(input.append_only !== undefined ? { append_only: input.append_only } : {}),
      }, r.audit);
    });
    if (credentials || input.tls_ca_pem !== undefined) await this.pushToLinkedHosts(id);
    return this.get(id);
  }

  /** Refused (409) while a schedule targets it (`schedules`), a copy policy uses it (`copy_policies`), the control-plane backup goes into it (`control_plane_backup`) or a host uses it (`hosts`). */
  async delete(actor: Actor, id: string): Promise<void> {
    const row = await this.row(id);
    await this.d.inTx(async (r) => {
      const schedules = await r.repos.scheduleCount(id);
      if (schedules > 0) throw new DomainError('conflict', `${schedules} schedule(s) target this repository: point them elsewhere first`, { schedules: `${schedules} schedule(s) use it` });
      const policies = await r.repos.copyPolicyCount(id);
      if (policies > 0) throw new DomainError('conflict', `${policies} copy policy(ies) copy from or into this repository: delete them first`, { copy_policies: `${policies} copy policy(ies) use it` });
      if ((await r.controlPlaneBackup.get()).repository_id === id) throw new DomainError('conflict', 'the control-plane backup (Settings) goes into this repository: choose another one first', { control_plane_backup: 'the control-plane backup uses it' });
      const links = await r.repos.linksOfRepo(id);
      if (links.length > 0) throw new DomainError('conflict', `${links.length} host(s) use this repository: unlink it first`, { hosts: `linked to ${links.length} host(s)` });
      if (await r.hosts.countByRepo(id)) throw new DomainError('conflict', 'a host uses this repository as its primary', { hosts: 'primary of a host' });
      await r.repos.delete(id);
      await this.audit.record(actor, 'repository.delete', { kind: 'repository', id }, { name: row.name, url: row.url }, r.audit);
    });
  }

  /**
   * Opens the repository through the agent of a linked host (`hostId`, or the first online
   * one). No online agent: `error_kind: no_agent`. The snapshot count of a successful test is
   * kept as the repository's.
   */
  async test(actor: Actor, id: string, hostId?: string): Promise<RepoTestResult> {
    const row = await this.row(id);
    const links = await this.d.repos.repos.linksOfRepo(id);
    if (hostId && !links.some((l) => l.host_id === hostId)) {
      throw new DomainError('validation_failed', 'host_id: that host is not linked to this repository', { host_id: 'not linked to this repository' });
    }
    const candidates = hostId ? [hostId] : links.map((l) => l.host_id);
    const online = candidates.find((h) => this.d.agents.isConnected(h));
    const cfg = repositoryConfig(await openRepository(this.d.repos.repos, this.d.box, row));
    let result: RepoTestResult;
    if (!cfg) {
      result = fail('failed', 'the repository has no stored password or credentials', null);
    } else if (!online) {
      result = fail('no_agent', hostId ? 'the agent of that host is offline' : 'no agent of a linked host is online: link the repository to a host whose agent is connected', null);
    } else {
      try {
        const a: RepoTestResultFrame = await this.requests.request<{ type: 'repo.test'; request_id: string; repository: RepositoryConfig }>(online, { type: 'repo.test', repository: cfg }, REPO_TEST_TIMEOUT_MS);
        result = { ok: a.ok, empty: a.empty, snapshot_count: a.snapshot_count, error_kind: a.error_kind, error: redact(a.error, cfg), host_id: online };
      } catch (e) {
        if (!(e instanceof DomainError) || e.code !== 'agent_unavailable') throw e;
        result = fail('no_agent', e.message, online);
      }
    }
    if (result.ok && result.snapshot_count !== null) await this.d.repos.repos.update(id, { snapshot_count: result.snapshot_count });
    if (result.ok && result.snapshot_count && result.host_id) await this.listSnapshotsIfPrimary(result.host_id, id);
    await this.audit.record(actor, 'repository.test', { kind: 'repository', id }, { host_id: result.host_id, ok: result.ok, error_kind: result.error_kind });
    return result;
  }

  /** The host's repositories, the primary first. */
  async forHost(hostId: string): Promise<{ items: HostRepositoryView[] }> {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    const items: HostRepositoryView[] = [];
    for (const l of await this.d.repos.repos.linksOfHost(hostId)) {
      const row = await this.d.repos.repos.findById(l.repo_id);
      if (!row) continue;
      const primary = l.repo_id === host.repo_id;
      // From the stored jobs: hosts.last_backup_at is the host's last backup into any of its repositories.
      const last = await this.d.repos.jobs.lastBackupInto(hostId, l.repo_id, primary);
      items.push({ repository: await this.view(row), primary, last_backup_at: last, last_copy_at: await this.d.repos.copies.lastCopyOf(hostId, l.repo_id) });
    }
    return { items };
  }

  /**
   * Links a repository to a host; `primary` also makes it `hosts.repo_id` (enrolled hosts only:
   * 409 naming `primary` before). Pushes config.update.
   */
  async link(actor: Actor, hostId: string, repoId: string, primary: boolean): Promise<HostRepositoryView> {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    await this.row(repoId);
    // Until enrollment the primary is the one the enrollment token carries (it replaces the primary).
    if (primary && !host.agent_token_hash) throw new DomainError('invalid_state', 'the host is not enrolled yet: its primary repository is the one its enrollment token carries', { primary: 'host not enrolled yet' });
    await this.d.inTx(async (r) => {
      const links = await r.repos.linksOfHost(hostId);
      if (!links.some((l) => l.repo_id === repoId) && links.length >= 32) throw new DomainError('conflict', 'a host has at most 32 repositories', { repo_id: 'too many repositories' });
      await r.repos.link(hostId, repoId, primary, iso(this.d.now()));
      if (primary) await r.hosts.update(hostId, { repo_id: repoId });
      await this.audit.record(actor, 'host.repository.link', { kind: 'host', id: hostId }, { repository_id: repoId, primary }, r.audit);
    });
    await this.hosts.pushConfig(hostId);
    if (primary) await this.listSnapshotsIfPrimary(hostId, repoId);
    const view = (await this.forHost(hostId)).items.find((i) => i.repository.id === repoId);
    if (!view) throw notFound('repository', repoId);
    return view;
  }

  /**
   * Unlinks a repository from a host: refused (409) while one of the host's schedules targets
   * it or a copy policy of this host alone copies from it, or when it is the host's only repository. Unlinking the primary promotes the oldest other link.
   */
  async unlink(actor: Actor, hostId: string, repoId: string): Promise<void> {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    await this.d.inTx(async (r) => {
      const links = await r.repos.linksOfHost(hostId);
      if (!links.some((l) => l.repo_id === repoId)) throw notFound('link to repository', repoId);
      const schedules = await r.repos.scheduleCount(repoId, hostId);
      if (schedules > 0) throw new DomainError('conflict', `${schedules} schedule(s) of this host target this repository`, { schedules: `${schedules} schedule(s) use it` });
      const policies = await r.repos.copyPolicyCount(repoId, hostId);
      if (policies > 0) throw new DomainError('conflict', `${policies} copy policy(ies) copy this host's snapshots from this repository: delete them first`, { copy_policies: `${policies} copy policy(ies) use it` });
      const others = links.filter((l) => l.repo_id !== repoId);
      const next = others[0];
      if (host.repo_id === repoId) {
        if (!next) throw new DomainError('conflict', "this is the host's only repository: link another one first", { repo_id: 'the only repository of this host' });
        await r.repos.link(hostId, next.repo_id, true, iso(this.d.now()));
        await r.hosts.update(hostId, { repo_id: next.repo_id });
      }
      await r.repos.unlink(hostId, repoId);
      await this.audit.record(actor, 'host.repository.unlink', { kind: 'host', id: hostId }, { repository_id: repoId, ...(host.repo_id === repoId ? { new_primary: next?.repo_id } : {}) }, r.audit);
    });
    await this.hosts.pushConfig(hostId);
    const promoted = host.repo_id === repoId ? (await this.d.repos.hosts.findById(hostId))?.repo_id : null;
    if (promoted) await this.listSnapshotsIfPrimary(hostId, promoted);
  }

  /**
   * An imported repository's snapshots appear without a backup: when it is (or becomes) a
   * connected host's primary, a `snapshots` job lists them (queued behind the config.update).
   * A host whose agent is offline lists them when its next job ends. Never throws a DomainError.
   */
  private async listSnapshotsIfPrimary(hostId: string, repoId: string): Promise<void> {
    const host = await this.d.repos.hosts.findById(hostId);
    if (host?.repo_id !== repoId || !host.agent_token_hash || !this.d.agents.isConnected(hostId)) return;
    try {
      await this.jobs.runNow({ kind: 'system' }, hostId, 'snapshots', {});
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      this.d.log.warn({ host_id: hostId, repo_id: repoId, err: e.message }, 'listing the snapshots of the new primary repository was not queued');
    }
  }

  private async pushToLinkedHosts(repoId: string): Promise<void> {
    for (const l of await this.d.repos.repos.linksOfRepo(repoId)) await this.hosts.pushConfig(l.host_id);
  }

  /** Validates replacement credentials for `backend`, filling omitted secrets from `stored` (form edits). */
  private checkCredentials(backend: string | null, input: Record<string, unknown>, stored: BackendCredentials | null): BackendCredentials {
    if (backend && input.backend !== backend) {
      throw new DomainError('validation_failed', `credentials.backend: the URL is a ${backend} location; these credentials are for ${String(input.backend)}`, { 'credentials.backend': `must be ${backend}` });
    }
    const merged: Record<string, unknown> = { ...input };
    if (stored && stored.backend === input.backend) {
      for (const k of SECRET_FIELDS[stored.backend]) {
        const v = (stored as Record<string, unknown>)[k];
        if (merged[k] === undefined && v !== undefined) merged[k] = v;
      }
    }
    const p = BackendCredentialsSchema.safeParse(merged);
    if (!p.success) {
      const fields = Object.fromEntries(p.error.issues.map((i) => [['credentials', ...i.path.map(String)].join('.'), i.message]));
      throw new DomainError('validation_failed', `invalid credentials: ${Object.keys(fields).join(', ')}`, fields);
    }
    if (p.data.backend === 'azure' && !p.data.account_key === !p.data.sas_token) {
      throw new DomainError('validation_failed', 'credentials.account_key: give exactly one of account_key and sas_token', { 'credentials.account_key': 'exactly one of account_key and sas_token' });
    }
    return p.data;
  }

  private async row(id: string): Promise<RepoRow> {
    const r = await this.d.repos.repos.findById(id);
    if (!r) throw notFound('repository', id);
    return r;
  }

  private async view(r: RepoRow, hostIds?: string[]): Promise<RepositoryView> {
    const o = await openRepository(this.d.repos.repos, this.d.box, r);
    const integrity = await this.d.repos.ledger.integrity(r.id);
    return {
      id: r.id, name: r.name, engine: r.engine, backend: o.backend ?? 'local', url: r.url,
      credentials: credentialsView(o.credentials), password_set: o.password !== null, tls_ca_set: r.tls_ca_pem !== null,
      append_only: r.append_only === 1 && r.backend === 'rest', maintenance_credential_set: r.maintenance_enc != null,
      size_bytes: r.size_bytes, snapshot_count: r.snapshot_count,
      host_ids: hostIds ?? (await this.d.repos.repos.linksOfRepo(r.id)).map((l) => l.host_id),
      created_at: r.created_at, updated_at: r.updated_at,
      frozen_since: integrity?.frozen_since ?? null, frozen_reason: integrity?.frozen_since ? integrity.frozen_reason : null,
    };
  }
}

/** JSON with sorted keys, for comparing credentials. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
}

function fail(kind: NonNullable<RepoTestResult['error_kind']>, error: string, hostId: string | null): RepoTestResult {
  return { ok: false, empty: false, snapshot_count: null, error_kind: kind, error, host_id: hostId };
}

/** The agent's error text without any of the repository's secrets (defence in depth). */
function redact(text: string | null, cfg: RepositoryConfig): string | null {
  if (text === null) return null;
  let out = text;
  for (const s of credentialSecrets(cfg.credentials, cfg.password)) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out.slice(0, 4000);
}
