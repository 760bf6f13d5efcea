import type { VaultTargetView } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { canOperate } from '../components/layout.js';
import { fmtBytes } from '../components/format.js';
import { Badge, CodeBlock, Empty, Field, RelTime } from '../components/ui.js';

/**
 * The host's vault (docs/vault.md "Fleet"): target without secrets, its snapshots labelled
 * "vault", Run now for vault jobs, and how to restore — on a trusted machine, with the CLI,
 * because only the private key (never on this server) can decrypt.
 */
export function VaultCard(props: { hostId: string; vault: VaultTargetView; viewer: Viewer; defaultPaths: string[] }) {
  const v = props.vault;
  const st = v.storage;
  const where = st.type === 'local' ? `directory ${st.path} on the host` : `s3://${st.bucket}/${st.prefix}${st.endpoint ? ` at ${st.endpoint}` : ''} (${st.region}; keys ${st.keys_set ? 'stored, sealed' : 'not set'})`;
  const latest = v.snapshots[0]?.id;
  return (
    <section class="card" id="vault" aria-labelledby="vault-h">
      <div class="card-head">
        <h2 id="vault-h">Vault <Badge tone="info">zero-trust</Badge></h2>
        <span class="muted">snapshots listed <RelTime iso={v.snapshots_reported_at} empty="never" /></span>
      </div>
      <div class="card-body stack">
        <dl class="kv" id="vault-target">
          <dt>Storage</dt><dd class="mono">{where}</dd>
          <dt>Recipient</dt><dd class="mono" style="overflow-wrap:anywhere">{v.age_recipient}</dd>
        </dl>
        {canOperate(props.viewer) ? (
          <form class="form inline" hx-post={`/hosts/${props.hostId}/run`} novalidate id="vault-run">
            <input type="hidden" name="kind" value="vault_backup" />
            <Field name="args.paths" label="Paths (comma-separated)">
              <input id="f-vault-paths" name="args.paths" value={props.defaultPaths.join(', ')} placeholder="/etc, /home" class="input-wide" />
            </Field>
            <div class="form-actions">
              <button class="btn primary" type="submit" id="vault-backup">Vault backup</button>
              <button class="btn" type="button" hx-post={`/hosts/${props.hostId}/run`} hx-vals='{"kind":"vault_check"}'>Vault check</button>
              <button class="btn" type="button" hx-post={`/hosts/${props.hostId}/run`} hx-vals='{"kind":"vault_prune"}' hx-confirm="Delete unreferenced vault blobs older than 24 h?">Vault prune</button>
              <button class="btn" type="button" id="vault-drill" hx-post={`/hosts/${props.hostId}/vault-drill`} title="Restore a seeded sample of the latest vault snapshot on a host trusted for vault drills (it holds the private key), verify it against the snapshot's content hashes, remove it">Vault drill</button>
            </div>
          </form>
        ) : null}
        {v.snapshots.length === 0 ? (
          <Empty title="No vault snapshots yet"><div>They appear here after the first vault backup.</div></Empty>
        ) : (
          <div class="table-wrap">
            <table id="vault-snapshots">
              <thead><tr><th>ID</th><th>Engine</th><th>Time</th><th class="num">Metadata</th></tr></thead>
              <tbody>
                {v.snapshots.map((s) => (
                  <tr data-vault-snapshot-id={s.id}>
                    <td class="mono">{s.id}</td>
                    <td><Badge tone="info" plain>vault</Badge></td>
                    <td class="nowrap"><RelTime iso={s.time} /></td>
                    <td class="num">{fmtBytes(s.metadata_bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div class="alert-box info" id="vault-restore">
          <p style="margin:0 0 6px">
            Vault snapshots are encrypted to the recipient above; neither this server nor the host holds the private key.
            Restore on a trusted machine that has it, with the CLI{st.type === 'local' ? ' (copy or mount the vault directory there first)' : ''}:
          </p>
          <CodeBlock id="vault-restore-cmd" text={latest ? v.restore_command.replace('<snapshot-id>', latest) : v.restore_command} />
        </div>
      </div>
    </section>
  );
}
