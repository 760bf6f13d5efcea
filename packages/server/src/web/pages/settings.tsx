import type { Child } from 'hono/jsx';
import type { UserView } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead, isAdmin } from '../components/layout.js';
import { Badge, CodeBlock, Field, RelTime } from '../components/ui.js';

export interface AboutInfo {
  serverVersion: string;
  protocolVersion: number;
  minAgentProtocol: number;
  node: string;
  baseUrl: string;
  /** Agent versions seen in the fleet with host counts. */
  agentVersions: { version: string; hosts: number }[];
}

export function SettingsPage(props: { viewer: Viewer; users: UserView[] | null; disabled: Set<string>; about: AboutInfo; alerting?: Child; controlPlane?: Child; tagWindows?: Child; caps?: Child }) {
  const admin = isAdmin(props.viewer);
  const a = props.about;
  return (
    <Layout title="Settings" viewer={props.viewer} active="settings">
      <PageHead title="Settings" />
      <div class="stack">
        {admin && props.users ? <UsersCard users={props.users} me={props.viewer.username} disabled={props.disabled} /> : null}
        {admin ? props.alerting : null}
        {admin ? props.controlPlane : null}
        {admin ? props.tagWindows : null}
        {admin ? props.caps : null}
        <section class="card" id="api-tokens">
          <div class="card-head"><h2>API tokens and sign-in</h2></div>
          <div class="card-body">
            <p style="margin:0">Bearer tokens for scripts and <code>restic-manager ctl</code>: they act as you, with at most your role, optionally only on hosts with given tags.</p>
            <p style="margin:8px 0 0;display:flex;flex-wrap:wrap;gap:8px"><a class="btn" href="/settings/tokens">Manage your API tokens</a><a class="btn" href="/settings/security">Two-factor sign-in</a></p>
          </div>
        </section>
        <section class="card" id="agent-install">
          <div class="card-head"><h2>Agent installation</h2></div>
          <div class="card-body" style="display:grid;gap:12px">
            <p style="margin:0">
              Add a host on the dashboard to get a one-time token, then run the installer on the machine as root. It installs restic if missing, installs the
              agent with a sandboxed systemd unit, enrolls, and starts the service.
            </p>
            <CodeBlock id="install-template" text={`curl -fsSL ${a.baseUrl}/install/install.sh | sudo RM_TOKEN=<token> bash`} />
            <p class="muted" style="margin:0;font-size:.88rem">
              Manual install: <code>restic-manager-agent enroll --server {a.baseUrl} --token &lt;token&gt;</code>, then <code>restic-manager-agent run</code>.
            </p>
          </div>
        </section>
        <section class="card" id="about">
          <div class="card-head"><h2>About</h2></div>
          <div class="card-body">
            <dl class="kv">
              <dt>Server</dt><dd>restic-manager {a.serverVersion}</dd>
              <dt>Agent protocol</dt><dd>v{a.protocolVersion} (accepts agents from v{a.minAgentProtocol})</dd>
              <dt>Runtime</dt><dd>Node.js {a.node}</dd>
              <dt>Base URL</dt><dd class="mono">{a.baseUrl}</dd>
              <dt>Agents in the fleet</dt>
              <dd>{a.agentVersions.length === 0 ? <span class="faint">none enrolled</span> : a.agentVersions.map((x) => <span class="tag">{x.version} × {x.hosts}</span>)}</dd>
            </dl>
          </div>
        </section>
      </div>
    </Layout>
  );
}

export function UsersCard(props: { users: UserView[]; me: string; disabled: Set<string> }) {
  return (
    <section class="card" id="users">
      <div class="card-head"><h2>Users</h2></div>
      <div class="table-wrap">
        <table>
          <thead><tr><th>User</th><th>Role</th><th>Host scope</th><th>Sign-in</th><th class="hide-sm">Created</th><th>Last sign-in</th><th><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {props.users.map((u) => <UserRow user={{ ...u, disabled: props.disabled.has(u.id) }} self={u.username === props.me} />)}
          </tbody>
        </table>
      </div>
      <div class="card-foot">
        <h3 style="margin-bottom:12px">Add a user</h3>
        <form class="form inline" hx-post="/settings/users" hx-target="#users" hx-swap="outerHTML" novalidate>
          <Field name="username" label="Username"><input id="f-username" name="username" autocomplete="off" /></Field>
          <Field name="password" label="Password (12+ characters)"><input id="f-password" name="password" type="password" autocomplete="new-password" /></Field>
          <Field name="role" label="Role">
            <select id="f-role" name="role"><option value="viewer">viewer</option><option value="operator">operator</option><option value="admin">admin</option></select>
          </Field>
          <Field name="scope_tags" label="Host tags (optional: limits the user to hosts with any of them)"><input id="f-scope_tags" name="scope_tags" autocomplete="off" placeholder="team-a, web" /></Field>
          <div class="form-actions"><button class="btn primary" type="submit">Add user</button></div>
        </form>
      </div>
    </section>
  );
}

export function UserRow(props: { user: UserView & { disabled?: boolean }; self: boolean }) {
  const u = props.user;
  return (
    <tr id={`user-${u.id}`}>
      <td><strong>{u.username}</strong>{props.self ? <span class="host-sub"> (you)</span> : null}{u.disabled ? <> <Badge tone="neutral">disabled</Badge></> : null}</td>
      <td>
        {props.self || u.auth_method === 'oidc' ? (
          <span class="tag" title={u.auth_method === 'oidc' ? 'Set from the SSO groups claim at every sign-in' : undefined}>{u.role}</span>
        ) : (
          <form hx-post={`/settings/users/${u.id}/role`} hx-trigger="change" hx-target={`#user-${u.id}`} hx-swap="outerHTML" style="margin:0">
            <label class="sr-only" for={`role-${u.id}`}>Role of {u.username}</label>
            <select id={`role-${u.id}`} name="role" style="width:auto">
              {(['viewer', 'operator', 'admin'] as const).map((r) => <option value={r} selected={u.role === r}>{r}</option>)}
            </select>
          </form>
        )}
      </td>
      <td><UserScopeCell user={u} self={props.self} /></td>
      <td class="auth-method">{u.auth_method === 'oidc' ? 'SSO' : u.auth_method === 'service' ? 'Service account (tokens)' : 'Password'}</td>
      <td class="hide-sm"><RelTime iso={u.created_at} /></td>
      <td><RelTime iso={u.last_login_at} /></td>
      <td class="num">
        {props.self ? null : (
          <span style="display:inline-flex;gap:6px">
            {u.auth_method !== 'password' ? null : <button class="btn small" hx-post={`/settings/users/${u.id}/password`} hx-prompt={`New password for ${u.username} (at least 12 characters)`} hx-target={`#user-${u.id}`} hx-swap="outerHTML">Reset password</button>}
            <button class="btn small danger" hx-post={`/settings/users/${u.id}/${u.disabled ? 'enable' : 'disable'}`} hx-confirm={`${u.disabled ? 'Enable' : 'Disable'} ${u.username}? Their sessions end now.`} hx-target={`#user-${u.id}`} hx-swap="outerHTML">{u.disabled ? 'Enable' : 'Disable'}</button>
          </span>
        )}
      </td>
    </tr>
  );
}

/** A user's host-tag scope (issue 21): editable for non-admins (comma-separated tags; empty = every host). */
function UserScopeCell(props: { user: UserView; self: boolean }) {
  const u = props.user;
  const shown = u.scope_tags ? u.scope_tags.join(', ') : 'every host';
  if (props.self || u.role === 'admin') return <span class="host-sub" title={u.role === 'admin' ? 'Admins are never limited to host tags' : undefined}>{shown}</span>;
  return (
    <form class="user-scope" hx-post={`/settings/users/${u.id}/scope`} hx-target={`#user-${u.id}`} hx-swap="outerHTML" style="margin:0;display:inline-flex;gap:6px">
      <label class="sr-only" for={`scope-${u.id}`}>Host tags of {u.username}</label>
      <input id={`scope-${u.id}`} name="scope_tags" value={u.scope_tags?.join(', ') ?? ''} placeholder="every host" style="width:12em" autocomplete="off" />
      <button class="btn small" type="submit">Set</button>
    </form>
  );
}
