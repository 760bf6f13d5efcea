import type { ApiTokenView, Role } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead } from '../components/layout.js';
import { Badge, CodeBlock, Empty, Field, RelTime, Tags } from '../components/ui.js';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
const STATE_TONE = { active: 'ok', expired: 'neutral', revoked: 'neutral' } as const;

/** Settings → API tokens: the signed-in user's own tokens (docs/server.md "API tokens"). */
export function TokensPage(props: { viewer: Viewer; tokens: ApiTokenView[] }) {
  return (
    <Layout title="API tokens" viewer={props.viewer} active="settings">
      <PageHead title="API tokens" crumbs={[{ label: 'Settings', href: '/settings' }]} sub="Bearer tokens for scripts and the restic-manager ctl command line. They act as you, with at most your role." />
      <div class="stack">
        <TokensCard tokens={props.tokens} role={props.viewer.role} />
      </div>
    </Layout>
  );
}

/** The list, the create form and — right after creating — the new secret, shown this once. */
export function TokensCard(props: { tokens: ApiTokenView[]; role: Role; created?: { token: string; name: string } }) {
  return (
    <section class="card" id="tokens">
      <div class="card-head"><h2>Your tokens</h2></div>
      {props.created ? (
        <div class="card-body" id="token-created">
          <p style="margin:0 0 8px"><strong>Token “{props.created.name}” created.</strong> Copy it now: it is shown only this once and cannot be retrieved later.</p>
          <CodeBlock id="new-token" text={props.created.token} />
          <p class="muted" style="margin:8px 0 0;font-size:.88rem">Use it as <code>Authorization: Bearer &lt;token&gt;</code>, or <code>RM_TOKEN=&lt;token&gt; restic-manager ctl hosts</code>.</p>
        </div>
      ) : null}
      {props.tokens.length === 0 ? (
        <div class="card-body"><Empty title="No tokens yet">Create one below for a script or the command line.</Empty></div>
      ) : (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>Token</th><th>Role</th><th>Scope</th><th>State</th><th class="hide-sm">Expires</th><th>Last used</th><th><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>{props.tokens.map((t) => <TokenRow token={t} />)}</tbody>
          </table>
        </div>
      )}
      <div class="card-foot">
        <h3 style="margin-bottom:12px">Create a token</h3>
        <form class="form inline" id="token-form" hx-post="/settings/tokens" hx-target="#tokens" hx-swap="outerHTML" novalidate>
          <Field name="name" label="Name"><input id="f-name" name="name" autocomplete="off" placeholder="ci-backups" /></Field>
          <Field name="role" label="Role">
            <select id="f-role" name="role">
              {ROLES.filter((r) => RANK[r] <= RANK[props.role]).map((r) => <option value={r} selected={r === props.role}>{r}</option>)}
            </select>
          </Field>
          <Field name="scope_tags" label="Host tags (optional)" hint="Comma-separated; empty = every host">
            <input id="f-scope_tags" name="scope_tags" autocomplete="off" placeholder="team-a, db" />
          </Field>
          <Field name="expires_in_days" label="Expires in (days)"><input id="f-expires_in_days" name="expires_in_days" type="number" min="1" max="3650" value="90" /></Field>
          <div class="form-actions"><button class="btn primary" type="submit">Create token</button></div>
        </form>
      </div>
    </section>
  );
}

function TokenRow(props: { token: ApiTokenView }) {
  const t = props.token;
  return (
    <tr id={`token-${t.id}`} data-state={t.state}>
      <td><strong>{t.name}</strong></td>
      <td class="mono">{t.prefix}…</td>
      <td><span class="tag">{t.role}</span></td>
      <td>{t.scope_tags ? <Tags tags={t.scope_tags} /> : <span class="faint">every host</span>}</td>
      <td><Badge tone={STATE_TONE[t.state]}>{t.state}</Badge></td>
      <td class="hide-sm"><RelTime iso={t.expires_at} /></td>
      <td><RelTime iso={t.last_used_at} empty="never" /></td>
      <td class="num">
        {t.state === 'revoked' ? null : (
          <button class="btn small danger" hx-post={`/settings/tokens/${t.id}/revoke`} hx-confirm={`Revoke ${t.name}? Scripts using it stop working at once.`} hx-target="#tokens" hx-swap="outerHTML">Revoke</button>
        )}
      </td>
    </tr>
  );
}
