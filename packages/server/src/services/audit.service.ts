import type { AuditFilter, AuditRepository, AuditRow } from '../repositories/audit.repository.js';
import type { Actor, ServiceDeps } from './context.js';
import { iso } from './context.js';
import { setOwn } from '../own-property.js';

const SECRET_KEY = /pass|secret|token|bearer|hook|credential|key/i;

/**
 * Replaces the value of any secret-looking key with `"[changed]"` (strings) so an audit row can
 * say that a secret was set without holding it. Services pass explicit `*_changed: true` flags;
 * this is the safety net.
 */
export function scrubPayload(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubPayload(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    setOwn(out, k, SECRET_KEY.test(k) && typeof v === 'string' ? '[changed]' : scrubPayload(v, depth + 1));
  }
  return out;
}

/** Audit log writer and reader (spec §7.5). */
export class AuditService {
  constructor(private readonly d: ServiceDeps) {}

  /** Writes one audit row; pass `repo` to write inside a caller's transaction. */
  async record(actor: Actor, action: string, target: { kind: string; id: string } | null, payload: Record<string, unknown> = {}, repo: AuditRepository = this.d.repos.audit): Promise<void> {
    await repo.insert({
      user_id: actor.kind === 'user' ? actor.id : null,
      actor: actor.kind,
      actor_name: actor.kind === 'user' ? actor.name : actor.kind === 'agent' ? actor.name : 'system',
      action,
      target_kind: target?.kind ?? (actor.kind === 'agent' ? 'host' : null),
      target_id: target?.id ?? (actor.kind === 'agent' ? actor.hostId : null),
      ts: iso(this.d.now()),
      payload: JSON.stringify(scrubPayload(actor.kind === 'user' && actor.via ? { ...payload, via: actor.via } : payload)),
    });
  }

  async list(filter: AuditFilter, limit: number, offset: number) {
    const { rows, total } = await this.d.repos.audit.list(filter, limit, offset);
    return { items: rows.map(toView), total, limit, offset };
  }
}

const toView = (r: AuditRow) => ({
  id: r.id,
  user_id: r.user_id,
  actor: r.actor,
  actor_name: r.actor_name,
  action: r.action,
  target_kind: r.target_kind,
  target_id: r.target_id,
  ts: r.ts,
  payload: JSON.parse(r.payload) as Record<string, unknown>,
});
