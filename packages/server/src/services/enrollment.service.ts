import { CloseCode, PROTOCOL_VERSION } from '@restic-manager/protocol';
import { hashToken, randomToken } from '../crypto/tokens.js';
import { EnrollmentRepository } from '../repositories/enrollment.repository.js';
import { HostRepository } from '../repositories/host.repository.js';
import { RepoRepository } from '../repositories/repo.repository.js';
import type { AuditService } from './audit.service.js';
import type { ServiceDeps } from './context.js';
import { iso } from './context.js';
import { DomainError } from './errors.js';
import { tokenAad } from './host.service.js';
import type { RepoSecrets } from './repo-secrets.js';
import { replacePrimary, storeRepoSecrets } from './repo-secrets.js';

export interface EnrollInput {
  token: string;
  hostname: string;
  os: string;
  arch: string;
  agent_version: string;
  restic_version: string | null;
}

/**
 * Consumes an enrollment token (spec §6.3/§7.3). In one transaction: claims the token, moves
 * the sealed credential blob into credential + repo rows, and sets the host's bearer hash.
 * Unknown tokens -> token_invalid (401); used -> token_used (410); expired -> token_expired
 * (410). A failure changes nothing.
 */
export class EnrollmentService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly audit: AuditService,
  ) {}

  async enroll(input: EnrollInput, ip: string) {
    const now = this.d.now();
    const bearer = randomToken();
    const hostId = await this.d.db.transaction().execute(async (tx) => {
      const tokens = new EnrollmentRepository(tx);
      const hosts = new HostRepository(tx);
      const repos = new RepoRepository(tx);
      const row = await tokens.findByHash(hashToken(input.token));
      if (!row) throw new DomainError('token_invalid', 'enrollment token is not valid');
      if (row.used_at) throw new DomainError('token_used', 'enrollment token was already used; generate a new one');
      if (Date.parse(row.expires_at) <= now) throw new DomainError('token_expired', 'enrollment token expired; generate a new one');
      if (!(await tokens.markUsed(row.id, iso(now)))) throw new DomainError('token_used', 'enrollment token was already used; generate a new one');
      const host = await hosts.findById(row.host_id);
      if (!host) throw new DomainError('token_invalid', 'enrollment token is not valid');
      let repoId = host.repo_id;
      if (row.blob_enc) {
        repoId = await storeRepoSecrets(tx, this.d.box, this.d.box.openJson<RepoSecrets>(row.blob_enc, tokenAad(row.id)), host.name, now);
      }
      await hosts.update(host.id, {
        agent_token_hash: hashToken(bearer), hostname: input.hostname, os: input.os, arch: input.arch,
        agent_version: input.agent_version, restic_version: input.restic_version, enrolled_at: iso(now),
        status: 'offline', repo_id: repoId,
        // New repository credentials are a rotation: clear a "needs rotation" mark (migration 0015).
        ...(row.blob_enc ? { credential_rotation_since: null, credential_rotation_reason: null } : {}),
      });
      if (repoId && repoId !== host.repo_id) await replacePrimary(repos, host.id, host.repo_id, repoId, now);
      return host.id;
    });
    // A re-enrollment revokes the previous bearer: drop its socket if still open.
    this.d.agents.disconnect(hostId, CloseCode.unauthorized, 'bearer revoked by re-enrollment');
    await this.audit.record({ kind: 'system' }, 'agent.enroll', { kind: 'host', id: hostId }, { hostname: input.hostname, ip, bearer_issued: true });
    const base = this.d.baseUrl();
    return {
      host_id: hostId,
      bearer_token: bearer,
      server_url: base,
      ws_url: `${base.replace(/^http/, 'ws')}/api/agents/ws`,
      protocol_version: PROTOCOL_VERSION,
    };
  }
}
