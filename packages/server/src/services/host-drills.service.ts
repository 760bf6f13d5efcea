import type { JobView, RestoreDrillRequest, RestoreDrillTagRequest } from '@restic-manager/protocol';
import type { Actor, ServiceDeps } from './context.js';
import { DomainError, notFound } from './errors.js';
import type { RestoreDrillService } from './restore-drill.service.js';
import type { VaultDrillService } from './vault-drill.service.js';

type Refusal = { host_id: string; host: string; error: string };

/**
 * What drilling a host means (issue 16): its restic/rustic repositories (RestoreDrillService) and,
 * with a vault target, its vault on a trusted host (VaultDrillService). Used by the by-tag route and
 * by restore_drill schedules, so a host with only a vault target is drilled too, and a refusal of
 * one part never stops the other.
 */
export class HostDrillService {
  constructor(
    private readonly d: ServiceDeps,
    private readonly restic: Pick<RestoreDrillService, 'run' | 'fire'>,
    private readonly vault: Pick<VaultDrillService, 'run' | 'fire'>,
  ) {}

  /**
   * Drills every enrolled host carrying `tag`: each host's repositories as POST
   * /api/hosts/{id}/restore-drills would (drill_host_id applies to them), and its vault target as
   * POST /api/hosts/{id}/vault-drills would without drill_host_id (the first trusted host whose
   * identity matches). Each part that cannot run is listed in `refused` with the reason.
   */
  async runTag(actor: Actor, req: RestoreDrillTagRequest) {
    const { tag, ...rest } = req;
    const hosts = (await this.d.repos.hosts.list({ tag }, 10_000, 0)).rows.filter((h) => h.agent_token_hash);
    if (hosts.length === 0) throw new DomainError('validation_failed', `tag: no enrolled host has the tag ${tag}`, { tag: 'no enrolled host has it' });
    const jobs: JobView[] = [];
    const refused: Refusal[] = [];
    for (const h of hosts) {
      const parts = await this.parts(h);
      if (!parts.restic && !parts.vault) refused.push({ host_id: h.id, host: h.name, error: `host ${h.name} has no repository or vault target to drill` });
      const attempt = async (run: () => Promise<{ jobs: JobView[] }>) => {
        try {
          jobs.push(...(await run()).jobs);
        } catch (e) {
          if (!(e instanceof DomainError)) throw e;
          refused.push({ host_id: h.id, host: h.name, error: e.message });
        }
      };
      if (parts.restic) await attempt(() => this.restic.run(actor, h.id, rest));
      if (parts.vault) await attempt(() => this.vault.run(actor, h.id, vaultRequest(rest)));
    }
    return { jobs, refused };
  }

  /**
   * A restore_drill schedule fired: the vault drill first (it never throws a refusal), then the
   * repositories' drills when the host has a repository (their refusal is the schedule's failure).
   */
  async fire(s: { id: string; host_id: string; drill_host_id: string | null }): Promise<string[]> {
    const host = await this.d.repos.hosts.findById(s.host_id);
    if (!host) throw notFound('host', s.host_id);
    const parts = await this.parts(host);
    const vault = parts.vault ? await this.vault.fire(s) : [];
    if (!parts.restic && parts.vault) return vault;
    return [...(await this.restic.fire(s)), ...vault];
  }

  /** Which parts the host has to drill (the host row the caller already read). */
  private async parts(host: { id: string; repo_id: string | null }): Promise<{ restic: boolean; vault: boolean }> {
    return { restic: host.repo_id !== null, vault: (await this.d.repos.vaults.findByHost(host.id)) !== undefined };
  }
}

/** The tag request's sample settings for a vault drill; its drill_host_id names the repositories' drill host, not a trusted one. */
function vaultRequest(req: Omit<RestoreDrillTagRequest, 'tag'>): RestoreDrillRequest {
  const { drill_host_id: _drillHost, ...sample } = req;
  return sample;
}
