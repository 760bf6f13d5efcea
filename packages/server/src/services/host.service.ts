import { randomUUID } from 'node:crypto';
import type { ConfigUpdate, RepositoryConfig, RepositoryInput } from '@restic-manager/protocol';
import { CloseCode } from '@restic-manager/protocol';
import { hashToken, randomToken } from '../crypto/tokens.js';
import { HostRepository } from '../repositories/host.repository.js';
import type { HostFilter } from '../repositories/host.repository.js';
import { RepoRepository } from '../repositories/repo.repository.js';
import type { RepoRow } from '../repositories/repo.repository.js';
import type { AuditService } from './audit.service.js';
import type { Actor, Repositories, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError, notFound } from './errors.js';
import type { GeneratedSecrets } from './repo-secrets.js';
import { completeSecrets, replacePrimary, storeRepoSecrets } from './repo-secrets.js';
import { openRepository, repositoryConfig } from './repository-config.js';
import { hostView, repoView } from './views.js';

export const ENROLLMENT_TTL_MS = 3_600_000;

export const tokenAad = (tokenId: string): string => `enrollment:${tokenId}`;

/** Hosts, their repo projection, and enrollment tokens (spec §6.3). */
export class HostService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
  ) {}

  /** "Add host": a pending host plus its one-time enrollment token. Secrets are returned once. */
  async addHost(actor: Actor, input: { name: string; tags: string[]; repository: RepositoryInput }) {
    const id = randomUUID();
    await this.d.repos.hosts.insert({
      id, name: input.name, hostname: null, os: null, arch: null, agent_version: null, restic_version: null,
      protocol_version: null, enrolled_at: null, last_seen_at: null, status: 'pending', repo_id: null,
      tags: JSON.stringify(input.tags), current_job_id: null, last_backup_at: null, last_backup_status: null,
      repo_size_bytes: null, snapshot_count: null, applied_schedule_version: null, agent_token_hash: null,
      repo_initialised_at: null, created_at: iso(this.d.now()),
    });
    const token = await this.issueToken(actor, id, input.repository);
    await this.audit.record(actor, 'host.create', { kind: 'host', id }, { name: input.name, tags: input.tags, repository_url: input.repository.url, credentials_set: true });
    return token;
  }

  /** Replaces the host's unused tokens with a new one; `repository` replaces credentials on use. */
  async regenerateToken(actor: Actor, hostId: string, repository: RepositoryInput | undefined) {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    if (!repository && !host.repo_id) throw new DomainError('validation_failed', 'this host has no repository yet: include "repository"', { repository: 'required' });
    await this.d.repos.enrollment.deleteUnusedForHost(hostId);
    const r = await this.issueToken(actor, hostId, repository);
    await this.audit.record(actor, 'host.enrollment_token', { kind: 'host', id: hostId }, { credentials_changed: !!repository });
    return r;
  }

  private async issueToken(actor: Actor, hostId: string, repository: RepositoryInput | undefined) {
    const token = randomToken();
    const tokenId = randomUUID();
    const expires = iso(this.d.now() + ENROLLMENT_TTL_MS);
    let shown: GeneratedSecrets = {};
    let blob: string | null = null;
    if (repository) {
      const c = completeSecrets(repository);
      shown = c.shown;
      blob = this.d.box.sealJson(c.secrets, tokenAad(tokenId));
    }
    await this.d.repos.enrollment.insert({
      id: tokenId, token_hash: hashToken(token), host_id: hostId, blob_enc: blob, expires_at: expires, used_at: null,
      created_by: actor.kind === 'user' ? actor.id : null, created_at: iso(this.d.now()),
    });
    const base = this.d.baseUrl();
    return {
      host_id: hostId,
      token,
      expires_at: expires,
      install_command: `curl -fsSL ${base}/install/install.sh | sudo RM_TOKEN=${token} bash`,
      ...shown,
    };
  }

  /**
   * Replaces an enrolled host's repository and credentials (missing passwords are generated and
   * returned once) and pushes `config.update` when the agent is connected (spec §7.3).
   */
  async setCredentials(actor: Actor, hostId: string, repository: RepositoryInput) {
    const host = await this.d.repos.hosts.findById(hostId);
    if (!host) throw notFound('host', hostId);
    if (!host.agent_token_hash) throw new DomainError('invalid_state', 'host is not enrolled yet: regenerate its enrollment token with the new repository instead');
    const { secrets, shown } = completeSecrets(repository);
    await this.d.db.transaction().execute(async (tx) => {
      const repoId = await storeRepoSecrets(tx, this.d.box, secrets, host.name, this.d.now());
      // A rotation clears the "needs rotation" mark a one-off cross-host restore may have set.
      await new HostRepository(tx).update(hostId, { repo_id: repoId, credential_rotation_since: null, credential_rotation_reason: null });
      await replacePrimary(new RepoRepository(tx), hostId, host.repo_id, repoId, this.d.now());
    });
    await this.audit.record(actor, 'host.credentials', { kind: 'host', id: hostId }, { repository_url: repository.url, credentials_changed: true, ...(host.credential_rotation_since ? { rotation_mark_cleared: true } : {}) });
    const pushed = await this.pushConfig(hostId);
    return { host_id: hostId, pushed, ...shown };
  }

  async list(filter: HostFilter, limit: number, offset: number) {
    const { rows, total } = await this.d.repos.hosts.list(filter, limit, offset);
    return { items: rows.map(hostView), total, limit, offset };
  }

  async get(id: string) {
    const h = await this.d.repos.hosts.findById(id);
    if (!h) throw notFound('host', id);
    return hostView(h);
  }

  private readonly tagListeners: ((hostId: string, from: string[], to: string[]) => Promise<void>)[] = [];

  /** Called after a host's tags change (the tag backup windows that apply to it may change). */
  onTagsChanged(f: (hostId: string, from: string[], to: string[]) => Promise<void>): void {
    this.tagListeners.push(f);
  }

  /** Replaces the host's tags (already validated by TagList); audited with the old and new lists. */
  async setTags(actor: Actor, id: string, tags: string[]) {
    const h = await this.d.repos.hosts.findById(id);
    if (!h) throw notFound('host', id);
    await this.d.repos.hosts.update(id, { tags: JSON.stringify(tags) });
    await this.audit.record(actor, 'host.tags', { kind: 'host', id }, { from: hostView(h).tags, to: tags });
    for (const f of this.tagListeners) await f(id, hostView(h).tags, tags);
    return hostView({ ...h, tags: JSON.stringify(tags) });
  }

  async delete(actor: Actor, id: string): Promise<void> {
    const h = await this.d.repos.hosts.findById(id);
    if (!h) throw notFound('host', id);
    this.d.agents.disconnect(id, CloseCode.unauthorized, 'host deleted');
    await this.d.repos.hosts.delete(id);
    if (h.repo_id) await this.d.repos.repos.deleteUnreferenced(h.repo_id);
    await this.audit.record(actor, 'host.delete', { kind: 'host', id }, { name: h.name });
  }

  /** The agent's last databases.report, or empty lists when none arrived yet. */
  async discoveredDatabases(hostId: string) {
    const h = await this.d.repos.hosts.findById(hostId);
    if (!h) throw notFound('host', hostId);
    const r = h.discovered_databases ? (JSON.parse(h.discovered_databases) as { discovered_at: string; local: Record<string, unknown>[]; containers: Record<string, unknown>[]; docker_error: string | null; volumes?: Record<string, unknown>[] }) : null;
    return { host_id: hostId, discovered_at: r?.discovered_at ?? null, local: r?.local ?? [], containers: r?.containers ?? [], docker_error: r?.docker_error ?? null, volumes: r?.volumes ?? [] };
  }

  async repoOf(hostId: string) {
    const h = await this.d.repos.hosts.findById(hostId);
    if (!h) throw notFound('host', hostId);
    if (!h.repo_id) throw new DomainError('invalid_state', `host ${hostId} has no repository yet (not enrolled)`);
    return this.repo(h.repo_id);
  }

  async repo(id: string) {
    const r = await this.d.repos.repos.findById(id);
    if (!r) throw notFound('repo', id);
    return repoView(r, await this.restUsername(r), this.d.now());
  }

  private async restUsername(r: RepoRow): Promise<string | null> {
    const c = (await openRepository(this.d.repos.repos, this.d.box, r)).credentials;
    return c?.backend === 'rest' ? (c.username ?? null) : null;
  }

  async listRepos(limit: number, offset: number) {
    const { rows, total } = await this.d.repos.repos.list(limit, offset);
    const items = [];
    for (const r of rows) {
      items.push(repoView(r, await this.restUsername(r), this.d.now()));
    }
    return { items, total, limit, offset };
  }

  /**
   * The `config.update` frame for a host, decrypted; null when it has no credentials yet. The
   * top-level fields are the primary repository's (agents that predate issue 15 read only
   * those); `repositories` lists every usable repository linked to the host, primary first.
   */
  async configFor(hostId: string, repos: Repositories = this.d.repos): Promise<ConfigUpdate | null> {
    const h = await repos.hosts.findById(hostId);
    if (!h?.repo_id) return null;
    const r = await repos.repos.findById(h.repo_id);
    if (!r) return null;
    const primary = await openRepository(repos.repos, this.d.box, r);
    if (!primary.password) return null;
    const rest = primary.credentials?.backend === 'rest' && primary.credentials.username && primary.credentials.password ? primary.credentials : null;
    const configs: RepositoryConfig[] = [];
    const links = await repos.repos.linksOfHost(hostId);
    for (const id of [h.repo_id, ...links.map((l) => l.repo_id).filter((id) => id !== h.repo_id)]) {
      const row = id === h.repo_id ? r : await repos.repos.findById(id);
      const cfg = row ? repositoryConfig(row === r ? primary : await openRepository(repos.repos, this.d.box, row)) : null;
      if (cfg && configs.length < 32) configs.push(cfg);
    }
    return {
      type: 'config.update',
      repository: r.url,
      password: primary.password,
      ...(rest ? { rest_username: rest.username ?? '', rest_password: rest.password ?? '' } : {}),
      ...(configs.length ? { repositories: configs } : {}),
    };
  }

  /** Sends the host's current config.update when its agent is connected; audited. */
  async pushConfig(hostId: string): Promise<boolean> {
    const cfg = await this.configFor(hostId);
    const pushed = cfg ? this.d.agents.send(hostId, cfg) : false;
    if (pushed) await this.audit.record({ kind: 'system' }, 'agent.command.config.update', { kind: 'host', id: hostId }, { credentials_pushed: true });
    return pushed;
  }
}
