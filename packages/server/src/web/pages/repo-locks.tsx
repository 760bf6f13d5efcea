import type { RepoLockState, RepoView } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { canOperate } from '../components/layout.js';
import { Badge, Empty, RelTime } from '../components/ui.js';

const ago = (s: number): string => (s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`);

/** The repository's lock state as a badge: a live lock warns, stale locks warn louder, none is fine. */
export function LockStateBadge(props: { state: RepoLockState | null }) {
  if (!props.state) return <span class="faint">unknown</span>;
  if (props.state === 'stale') return <Badge tone="danger" title="only stale locks (left by killed processes); Remove stale locks on the Repo tab">stale locks</Badge>;
  return <Badge tone={props.state === 'locked' ? 'warn' : 'ok'}>{props.state}</Badge>;
}

/**
 * Repo tab: the locks the agent listed after the last job (holder user@host and PID, age, live
 * or stale) and, for operators, "Remove stale locks": an audited `unlock` job (restic unlock
 * removes stale locks only; a live lock stays).
 */
export function LocksCard(props: { hostId: string; viewer: Viewer; repo: RepoView | null }) {
  const r = props.repo;
  const locks = r?.locks ?? [];
  const stale = locks.filter((l) => l.stale).length;
  return (
    <section class="card" id="locks-card">
      <div class="card-head"><h2>Locks</h2><span><LockStateBadge state={r?.lock_state ?? null} />{stale && r?.lock_state === 'locked' ? <> <Badge tone="danger">{stale} stale</Badge></> : null}</span></div>
      <div class="card-body">
        <p class="muted" style="margin-top:0">
          Listed after every job (without taking a lock){r?.locks_listed_at ? <>, last <RelTime iso={r.locks_listed_at} /></> : null}. A lock is stale when its process is gone (same host) or it is older than 30 minutes; restic unlock removes only those.
        </p>
        {locks.length === 0 ? (
          <Empty title="No locks">{r?.locks_listed_at ? 'No lock was held when the agent last looked.' : 'The agent has not listed the locks yet: they are listed after the next job.'}</Empty>
        ) : (
          <div class="table-wrap">
            <table id="locks">
              <thead><tr><th>Lock</th><th>Holder</th><th>PID</th><th>Age</th><th>Kind</th><th>State</th></tr></thead>
              <tbody>
                {locks.map((l) => (
                  <tr data-lock={l.id} data-stale={l.stale ? 'true' : 'false'}>
                    <td class="mono">{l.id.slice(0, 8)}</td><td class="mono">{l.holder}</td><td class="mono">{l.pid}</td>
                    <td title={l.time}>{ago(l.age_seconds)}</td><td>{l.exclusive ? 'exclusive' : 'shared'}</td>
                    <td>{l.stale ? <Badge tone="danger">stale</Badge> : <Badge tone="neutral">live</Badge>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {canOperate(props.viewer) && r ? (
          <div style="display:flex;gap:8px;margin-top:8px">
            <button class="btn" type="button" id="remove-stale-locks" hx-post={`/hosts/${props.hostId}/maintenance/run`} hx-vals='{"kind":"unlock"}'
              hx-confirm={`Remove ${stale ? `${stale} stale lock(s)` : 'stale locks'} from this repository? Live locks stay.`}
              title="Runs restic unlock: removes stale locks only (restic's rules); the job is audited">Remove stale locks</button>
          </div>
        ) : null}
      </div>
    </section>
  );
}
