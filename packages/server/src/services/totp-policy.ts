import type { Role } from '@restic-manager/protocol';
import type { TotpRepository } from '../repositories/totp.repository.js';

/**
 * Which roles must sign in with a second factor (an admin's setting, `auth_settings`). Read on
 * every signed-in request, so the list is cached for `ttlMs` (another replica's change is seen
 * within that time; this replica's own change at once, through `invalidate`).
 */
export class TotpPolicy {
  private cached: { roles: string[]; at: number } | null = null;

  constructor(
    private readonly repo: TotpRepository,
    private readonly now: () => number,
    private readonly ttlMs = 5000,
  ) {}

  async roles(): Promise<Role[]> {
    const now = this.now();
    if (!this.cached || now - this.cached.at >= this.ttlMs) this.cached = { roles: await this.repo.requiredRoles(), at: now };
    return this.cached.roles as Role[];
  }

  async required(role: Role): Promise<boolean> {
    return (await this.roles()).includes(role);
  }

  invalidate(): void {
    this.cached = null;
  }
}
