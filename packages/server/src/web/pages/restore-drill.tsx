import type { RestoreDrillSummary, RestoreDrillView } from '@restic-manager/protocol';
import { Badge, RelTime } from '../components/ui.js';

/** "41 min", "2.5 h", "3 d": an RTO estimate, rounded for reading. */
export function durationText(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1).replace(/\.0$/, '')} h`;
  return `${(seconds / 86_400).toFixed(1).replace(/\.0$/, '')} d`;
}

/** "last proven restore: 3 h ago, 412 files, RTO ≈ 41 min" (or that none is proven yet). */
export function ProvenRestore(props: { last: RestoreDrillView | null; id?: string }) {
  const l = props.last;
  if (!l) return <span id={props.id}>last proven restore: <span class="faint">none yet</span></span>;
  return (
    <span id={props.id}>
      last proven restore: <RelTime iso={l.finished_at} />, {String(l.files ?? 0)} files{l.rto_seconds != null ? <>, RTO ≈ {durationText(l.rto_seconds)}</> : null}
    </span>
  );
}

/** The host header's drill facts: the last proven restore, a failing last drill, unproven vault restores. */
export function HostDrillFacts(props: { drill: RestoreDrillSummary }) {
  const d = props.drill;
  const last = d.recent[0];
  return (
    <>
      <ProvenRestore id="host-last-proven-restore" last={d.last_success} />
      {last && last.status === 'failed' ? <span id="host-last-drill-failed"><Badge tone="danger">last drill failed</Badge></span> : null}
      {d.vault === 'unproven' ? <span id="host-vault-unproven" title={d.vault_reason}><Badge tone="warn" plain>vault restores are unproven</Badge></span> : null}
      {d.vault === 'proven' ? <span id="host-vault-proven"><Badge tone="ok" plain>vault restore proven</Badge></span> : null}
    </>
  );
}

/** Run panel part: drill the latest snapshot now, here or on another enrolled host. */
export function DrillNowForm(props: { hostId: string; hosts: { id: string; name: string }[] }) {
  return (
    <form class="form inline" id="drill-form" hx-post={`/hosts/${props.hostId}/restore-drill`} novalidate>
      <label for="drill-now-host" class="muted">Restore drill on</label>
      <select id="drill-now-host" name="drill_host_id">
        <option value="">this host</option>
        {props.hosts.filter((h) => h.id !== props.hostId).map((h) => <option value={h.id}>{h.name} (temporary key)</option>)}
      </select>
      <button class="btn" type="submit" id="drill-now" title="Restore a seeded sample of the latest snapshot into a scratch directory, verify it against the snapshot, remove it">Drill now</button>
    </form>
  );
}

/** Dashboard: each drilled host's last proven restore; vault targets whose restores are unproven, each with the reason. */
export function FleetDrillCard(props: { fleet: { hosts: { host_id: string; host_name: string; last: RestoreDrillView; last_success: RestoreDrillView | null }[]; vault_unproven: string[] } }) {
  const f = props.fleet;
  if (f.hosts.length === 0 && f.vault_unproven.length === 0) return null;
  const failing = f.hosts.filter((h) => h.last.status === 'failed').length;
  return (
    <section class="card" id="restore-drills">
      <div class="card-head"><h2>Restore drills</h2>{failing ? <Badge tone="danger">{`${failing} failing`}</Badge> : f.hosts.length ? <Badge tone="ok">proven</Badge> : null}</div>
      {f.hosts.length ? (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Host</th><th>Last proven restore</th><th>Last drill</th></tr></thead>
            <tbody>
              {f.hosts.map((h) => (
                <tr data-host={h.host_id}>
                  <td><a href={`/hosts/${h.host_id}`}>{h.host_name}</a></td>
                  <td><ProvenRestore last={h.last_success} /></td>
                  <td>{h.last.status === 'succeeded' ? <Badge tone="ok">passed</Badge> : <Badge tone={h.last.status === 'failed' ? 'danger' : 'neutral'}>{h.last.status}</Badge>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {f.vault_unproven.length ? <div class="card-body" id="vault-unproven"><span class="muted">Vault restores are unproven: {f.vault_unproven.join('; ')}.</span></div> : null}
    </section>
  );
}
