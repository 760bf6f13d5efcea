/**
 * Create-only markers of backup runs: the host never rewrites or deletes a remote object.
 *
 *   runs/<run>.start      written before the run reads anything from the bucket
 *   runs/<run>.alive-<n>  one new object every `refreshMs` while the run lasts (n = 1, 2, …)
 *   runs/<run>.end        written after the snapshot is committed (or the run failed)
 *
 * A run is LIVE while it has no `.end` and its newest marker is younger than `staleMs`
 * (by the storage's clock: object modification times). A run whose lease has lapsed on the
 * host's own clock (`staleMs * 2/3` without a successful marker) commits nothing, so the prune
 * may treat a stale run as dead. The protocol between runs and the prune: docs/vault-format.md.
 */
import { MARKER_ID, RUN_PREFIX, LOCK_PREFIX, newMarkerId } from './layout.js';
import type { ObjectInfo, Storage } from './storage/index.js';

export const RUN_REFRESH_MS = 5 * 60_000;
export const RUN_STALE_MS = 3 * RUN_REFRESH_MS;

export interface LeaseTiming {
  refreshMs?: number;
  staleMs?: number;
}

/** The host's run lapsed (no marker written for too long): it must not commit. */
export class LeaseLapsedError extends Error {
  readonly code = 'LEASE_LAPSED';
}

export interface RunLease {
  readonly id: string;
  /** Throws LeaseLapsedError when committing now could race a prune that considers this run dead. */
  assertHeld(): void;
  /** Writes `.end` (best effort) and stops the heartbeat. */
  finish(outcome: { snapshot?: string; error?: string }): Promise<void>;
}

export async function startRun(storage: Storage, timing: LeaseTiming = {}): Promise<RunLease> {
  const refreshMs = timing.refreshMs ?? RUN_REFRESH_MS;
  const staleMs = timing.staleMs ?? RUN_STALE_MS;
  const id = newMarkerId();
  const started = new Date().toISOString();
  await storage.put(`${RUN_PREFIX}${id}.start`, Buffer.from(JSON.stringify({ started })), { createOnly: true });
  let lastOk = Date.now();
  let beat = 0;
  let failure: Error | null = null;
  const timer = setInterval(() => {
    const n = ++beat;
    storage.put(`${RUN_PREFIX}${id}.alive-${n}`, Buffer.from(JSON.stringify({ at: new Date().toISOString() })), { createOnly: true }).then(
      () => {
        lastOk = Date.now();
      },
      (e: unknown) => {
        failure = e as Error;
      },
    );
  }, refreshMs);
  timer.unref();
  return {
    id,
    assertHeld() {
      const since = Date.now() - lastOk;
      if (since >= (staleMs * 2) / 3) {
        throw new LeaseLapsedError(`run ${id}: no run marker written for ${Math.round(since / 1000)} s${failure ? ` (${failure.message})` : ''}; a prune may consider this run dead, so nothing was committed — run the backup again`);
      }
    },
    async finish(outcome) {
      clearInterval(timer);
      const body = { ended: new Date().toISOString(), ...outcome };
      await storage.put(`${RUN_PREFIX}${id}.end`, Buffer.from(JSON.stringify(body)), { createOnly: true }).catch(() => undefined);
    },
  };
}

export interface RunState {
  id: string;
  ended: boolean;
  /** Modification time of the run's newest marker (storage clock). */
  last: Date;
  keys: ObjectInfo[];
}

/** Every run with markers in the bucket, plus legacy `locks/<x>.json` objects as runs without an end. */
export async function listRuns(storage: Storage): Promise<Map<string, RunState>> {
  const runs = new Map<string, RunState>();
  const add = (id: string, o: ObjectInfo, ended: boolean): void => {
    const r = runs.get(id) ?? { id, ended: false, last: new Date(0), keys: [] };
    r.ended ||= ended;
    if (o.modified > r.last) r.last = o.modified;
    r.keys.push(o);
    runs.set(id, r);
  };
  for await (const o of storage.list(RUN_PREFIX)) {
    const m = /^runs\/([^.]+)\.(start|end|alive-\d+)$/.exec(o.key);
    if (m && MARKER_ID.test(m[1]!)) add(m[1]!, o, m[2] === 'end');
  }
  for await (const o of storage.list(LOCK_PREFIX)) add(`legacy:${o.key}`, o, false);
  return runs;
}

export function isLive(r: RunState, now: number, staleMs = RUN_STALE_MS): boolean {
  return !r.ended && now - r.last.getTime() < staleMs;
}
