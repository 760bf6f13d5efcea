import { labelFilter, parseStopSelector } from '@restic-manager/protocol';
import { isObj, labelsOf, nameOf } from '../dumps/docker.js';
import type { Get } from '../dumps/docker.js';

/**
 * Turns `stop_containers` entries into the concrete container names to stop, in stop order
 * (docs/databases.md "Stopping containers around a backup"):
 *
 * - entries in the order given;
 * - a name (or id) as is;
 * - `label:<key>[=<value>]`: the running containers carrying that label, listed through the
 *   Docker Engine API discovery uses (`GET /containers/json?filters={"label":["key=value"]}`),
 *   ordered by `stopOrder` below;
 * - a container selected again (by a later name or label) is stopped once, where first selected.
 *
 * A selector matching nothing, or a listing that fails, is a warning in the job log; the backup
 * goes on. Never throws.
 */

export type Line = (text: string) => void;

/** A container a label selector found. */
export interface Listed {
  name: string;
  id: string;
  labels: Record<string, string>;
}

/** At most this many containers per label selector (the rest are named in a warning). */
export const MAX_PER_SELECTOR = 64;

const COMPOSE = { project: 'com.docker.compose.project', service: 'com.docker.compose.service', dependsOn: 'com.docker.compose.depends_on' } as const;

/**
 * The services a `com.docker.compose.depends_on` label names. Compose writes
 * `service:condition:restart` items joined by commas (`db:service_healthy:false,cache:service_started:false`;
 * older versions `service:condition`); only the part before the first `:` matters here.
 */
export function dependsOnServices(v: string | undefined): string[] {
  if (!v) return [];
  return v.split(',').map((i) => i.split(':')[0]!.trim()).filter((s) => s !== '');
}

const byName = (a: Listed, b: Listed): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The stop order of the containers one label selector found (pure). A container whose
 * `com.docker.compose.depends_on` names a service of the same compose project
 * (`com.docker.compose.project`) is stopped before every selected container of that service
 * (`com.docker.compose.service`): dependents first, their dependencies after, so the reverse start
 * order brings dependencies up first. Among containers free to go, and when no container carries
 * the label, the order is by name. A dependency cycle is broken by name (`cycle: true`).
 */
export function stopOrder(list: readonly Listed[]): { order: Listed[]; compose: boolean; cycle: boolean } {
  const sorted = [...list].sort(byName);
  const deps = new Map<Listed, Listed[]>();
  for (const c of sorted) {
    const services = dependsOnServices(c.labels[COMPOSE.dependsOn]);
    deps.set(c, sorted.filter((t) => t !== c && t.labels[COMPOSE.project] === c.labels[COMPOSE.project] && services.includes(t.labels[COMPOSE.service] ?? '')));
  }
  const waiting = new Map<Listed, number>(sorted.map((c) => [c, 0]));
  for (const ts of deps.values()) for (const t of ts) waiting.set(t, (waiting.get(t) ?? 0) + 1);
  const compose = [...deps.values()].some((ts) => ts.length > 0);
  const left = [...sorted];
  const order: Listed[] = [];
  let cycle = false;
  while (left.length > 0) {
    let i = left.findIndex((c) => waiting.get(c) === 0);
    if (i < 0) {
      cycle = true;
      i = 0;
    }
    const [next] = left.splice(i, 1) as [Listed];
    order.push(next);
    for (const t of deps.get(next) ?? []) waiting.set(t, (waiting.get(t) ?? 1) - 1);
  }
  return { order, compose, cycle };
}

/** The running containers with the label (`key` or `key=value`) through the Engine API. */
export async function listByLabel(get: Get, filter: string): Promise<{ ok: true; value: Listed[] } | { ok: false; error: string }> {
  const r = await get(`/containers/json?filters=${encodeURIComponent(JSON.stringify({ label: [filter] }))}`);
  if (!r.ok) return r;
  if (r.status !== 200 || !Array.isArray(r.body)) return { ok: false, error: `GET /containers/json: status ${r.status}` };
  const out: Listed[] = [];
  for (const c of r.body) {
    if (!isObj(c) || typeof c.Id !== 'string' || !/^[0-9a-f]{12,64}$/.test(c.Id)) continue;
    // The name goes to `docker stop` argv and the job log: only a well-formed one, else the id.
    const name = nameOf(c);
    const p = parseStopSelector(name);
    out.push({ name: p.ok && p.value.kind === 'name' ? name : c.Id.slice(0, 12), id: c.Id, labels: labelsOf(c) });
  }
  return { ok: true, value: out };
}

/** The concrete names to stop, in order (see the file comment). `get` is created only when a label selector needs it. */
export async function resolveStopList(entries: readonly string[], getter: () => Get, line: Line): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const taken = (name: string, id = ''): boolean => seen.has(name) || (id !== '' && (seen.has(id) || seen.has(id.slice(0, 12))));
  let get: Get | null = null;
  for (const entry of entries) {
    const p = parseStopSelector(entry);
    if (!p.ok) {
      line(`warning: a stop_containers entry is not valid (${p.error}); going on without it`);
      continue;
    }
    if (p.value.kind === 'name') {
      if (taken(entry)) line(`container ${entry} is selected more than once; it is stopped once`);
      else {
        seen.add(entry);
        out.push(entry);
      }
      continue;
    }
    const filter = labelFilter(p.value);
    get ??= getter();
    const r = await listByLabel(get, filter);
    if (!r.ok) {
      line(`warning: cannot list the containers with label ${filter} (${r.error}); going on without them`);
      continue;
    }
    if (r.value.length === 0) {
      line(`warning: no running container has label ${filter}; going on`);
      continue;
    }
    const { order, compose, cycle } = stopOrder(r.value);
    const kept = order.slice(0, MAX_PER_SELECTOR);
    if (order.length > kept.length) line(`warning: label ${filter} selects ${order.length} containers; only the first ${MAX_PER_SELECTOR} are stopped`);
    const how = compose ? `compose dependency order, dependents first${cycle ? '; a dependency cycle was broken by name' : ''}` : 'by name';
    line(`label ${filter} selects ${kept.map((c) => c.name).join(', ')} (${how})`);
    for (const c of kept) {
      if (taken(c.name, c.id)) {
        line(`container ${c.name} is selected more than once; it is stopped once`);
        continue;
      }
      seen.add(c.name);
      seen.add(c.id);
      seen.add(c.id.slice(0, 12));
      out.push(c.name);
    }
  }
  return out;
}
