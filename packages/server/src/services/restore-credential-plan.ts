import type { ConfigUpdate } from '@restic-manager/protocol';

/** A permanent secret of the source host that a cross-host restore could hand to the target agent. */
export type SharedSecret = 'repository_password' | 'rest_login';

/** Which credential a cross-host restore uses, and which permanent secrets of the source it would share. */
export interface CredentialPlan {
  credential: 'own' | 'temporary_key' | 'stored_credential';
  /** Why no temporary key can be used ('' when one can). */
  credential_reason: string;
  /**
   * Permanent secrets of the source host the target agent would receive. Non-empty means the
   * restore is refused unless an admin confirms a one-off (`share_source_credential`).
   */
  shares: SharedSecret[];
  /** Why no temporary key: the source is offline, its key could not be removed, or it did not answer. */
  blocker?: KeyBlocker['kind'];
}

/** Why a temporary restic key cannot be used. */
export interface KeyBlocker {
  kind: 'offline' | 'append_only' | 'no_answer';
  text: string;
}

type Cfg = Pick<ConfigUpdate, 'rest_username' | 'rest_password'> | null;

/** Whether the target already holds the same REST login as the source (a shared REST user is no new secret). */
export function sameRestLogin(source: Cfg, target: Cfg): boolean {
  return !!source?.rest_username && source.rest_username === target?.rest_username && source.rest_password === target.rest_password;
}

/**
 * The plan for a cross-host restore. `keyBlocker` says why no temporary restic key can be
 * added (null when one can). A REST login is always a permanent secret: rclone serve restic
 * (1.60) and rest-server have no per-user read-only mode, so no temporary REST user can be made.
 */
export function planCredential(keyBlocker: KeyBlocker | null, source: Cfg, target: Cfg): CredentialPlan {
  const rest: SharedSecret[] = source?.rest_username && !sameRestLogin(source, target) ? ['rest_login'] : [];
  if (keyBlocker) return { credential: 'stored_credential', credential_reason: keyBlocker.text, shares: ['repository_password', ...rest], blocker: keyBlocker.kind };
  return { credential: 'temporary_key', credential_reason: rest.length ? 'the source repository needs its REST login, which is a permanent secret' : '', shares: rest };
}

const words: Record<SharedSecret, string> = { repository_password: 'repository password', rest_login: 'REST login' };

/** "repository password and REST login" */
export const describeShares = (shares: readonly SharedSecret[]): string => shares.map((s) => words[s]).join(' and ');

/** What an operator can do instead of sharing a permanent secret. */
export function remedy(plan: CredentialPlan, source: { id: string; name: string }): string {
  if (plan.blocker === 'offline') return `bring host ${source.name}'s agent online and retry (it then adds a temporary key)`;
  if (plan.blocker === 'no_answer') return `check that host ${source.name}'s agent is up to date and responsive, then retry`;
  if (plan.blocker === 'append_only') return `set a maintenance credential for host ${source.name} (PUT /api/hosts/${source.id}/maintenance-credential) so a temporary key can be removed afterwards, then retry`;
  return `restore on host ${source.name} itself, or give both hosts the same REST user`;
}
