import type { VaultTargetView } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { isAdmin } from '../components/layout.js';
import { Field } from '../components/ui.js';

/**
 * Settings tab (admins): the host's vault target. S3 keys are write-only (leave them empty to
 * keep the stored ones); the recipient is the PUBLIC key — the form says so, and the server
 * refuses a private key pasted by mistake.
 */
export function VaultSettingsCard(props: { hostId: string; viewer: Viewer; vault: VaultTargetView | null }) {
  if (!isAdmin(props.viewer)) return null;
  const v = props.vault;
  const s3 = v?.storage.type === 's3' ? v.storage : null;
  const local = v?.storage.type === 'local' ? v.storage : null;
  return (
    <section class="card" id="vault-settings">
      <div class="card-head"><h2>Vault target</h2><span class="muted">{v ? 'set' : 'not set'}</span></div>
      <div class="card-body">
        <p class="muted" style="margin-top:0">
          Zero-trust backups with the vault engine: the host encrypts to an age <strong>public</strong> key (recipient, <code>age1…</code>).
          Make the key pair on a trusted machine (<code>restic-manager vault keygen</code>) and keep the private key there — never paste it here.
        </p>
        <form class="form" hx-post={`/hosts/${props.hostId}/vault`} novalidate>
          <Field name="age_recipient" label="age recipient (public key)" hint="The age1… line printed as “public key”.">
            <input id="f-vault-age_recipient" name="age_recipient" value={v?.age_recipient ?? ''} placeholder="age1…" class="mono input-wider" autocomplete="off" />
          </Field>
          <Field name="storage.type" label="Storage">
            <select id="f-vault-storage.type" name="storage.type">
              <option value="s3" selected={!local}>S3</option>
              <option value="local" selected={!!local}>Directory on the host</option>
            </select>
          </Field>
          <Field name="storage.path" label="Directory (local storage)"><input id="f-vault-storage.path" name="storage.path" value={local?.path ?? ''} placeholder="/srv/vault" /></Field>
          <Field name="storage.endpoint" label="S3 endpoint"><input id="f-vault-storage.endpoint" name="storage.endpoint" value={s3?.endpoint ?? ''} placeholder="https://s3.example.com" /></Field>
          <Field name="storage.bucket" label="Bucket"><input id="f-vault-storage.bucket" name="storage.bucket" value={s3?.bucket ?? ''} /></Field>
          <Field name="storage.prefix" label="Prefix"><input id="f-vault-storage.prefix" name="storage.prefix" value={s3?.prefix ?? ''} placeholder="host1/" /></Field>
          <Field name="storage.region" label="Region"><input id="f-vault-storage.region" name="storage.region" value={s3?.region ?? ''} placeholder="us-east-1" /></Field>
          <Field name="storage.access_key_id" label="Access key id" hint={s3?.keys_set ? 'Stored (sealed). Leave both key fields empty to keep them.' : undefined}>
            <input id="f-vault-storage.access_key_id" name="storage.access_key_id" autocomplete="off" />
          </Field>
          <Field name="storage.secret_access_key" label="Secret access key"><input id="f-vault-storage.secret_access_key" name="storage.secret_access_key" type="password" autocomplete="new-password" /></Field>
          <div class="form-actions">
            <button class="btn primary" type="submit" id="vault-save">Save vault target</button>
            {v ? <button class="btn danger" type="button" hx-delete={`/hosts/${props.hostId}/vault`} hx-confirm="Remove the vault target? The data already stored is not touched.">Remove</button> : null}
          </div>
        </form>
      </div>
    </section>
  );
}
