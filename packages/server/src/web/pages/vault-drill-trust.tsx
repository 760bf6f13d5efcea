import type { VaultDrillTrustView } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { isAdmin } from '../components/layout.js';
import { Badge, RelTime } from '../components/ui.js';

/**
 * Settings tab (admins): whether this host is trusted for vault drills (docs/recoverability.md
 * "Vault drills"), and what its agent reported about its age identity — the public recipient,
 * or why the identity file is refused. The identity itself never leaves the host.
 */
export function VaultDrillTrustCard(props: { hostId: string; viewer: Viewer; trust: VaultDrillTrustView }) {
  if (!isAdmin(props.viewer)) return null;
  const t = props.trust;
  return (
    <section class="card" id="vault-drill-trust">
      <div class="card-head"><h2>Vault drills</h2>{t.trusted ? <Badge tone="ok">trusted</Badge> : <span class="muted">not trusted</span>}</div>
      <div class="card-body">
        <p class="muted" style="margin-top:0">
          A host trusted for vault drills restores samples of other hosts' vault snapshots with the age identity (private key) kept in a file on this host:
          <code>vault_identity_file</code> in its agent.yaml or <code>RM_VAULT_IDENTITY_FILE</code>, mode 0600, owned by the agent's user. The key never passes through this server.
        </p>
        <p id="vault-identity-status">
          {t.identity_error ? <><Badge tone="danger">identity refused</Badge> <span>{t.identity_error}</span></>
            : t.identity_recipient ? <>Identity present, recipient <code>{t.identity_recipient}</code>{t.identity_reported_at ? <> (reported <RelTime iso={t.identity_reported_at} />)</> : null}</>
              : <span class="muted">The agent reported no vault identity.</span>}
        </p>
        <form class="form inline" hx-post={`/hosts/${props.hostId}/vault-drill-trust`} novalidate>
          <input type="hidden" name="trusted" value={t.trusted ? 'false' : 'true'} />
          <button class="btn" type="submit" id="vault-drill-trust-toggle">{t.trusted ? 'Stop trusting for vault drills' : 'Trust for vault drills'}</button>
        </form>
      </div>
    </section>
  );
}
