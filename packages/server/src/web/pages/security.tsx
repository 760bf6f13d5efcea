import type { Role, TotpSetupView, TotpStatusView } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead } from '../components/layout.js';
import { Badge, CodeBlock, Field } from '../components/ui.js';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

/** Settings → Security: the user's own second factor and (admins) which roles must use one. */
export function SecurityPage(props: { viewer: Viewer; status: TotpStatusView; passwordAccount: boolean; requiredRoles: Role[] | null; mustSetUp: boolean }) {
  return (
    <Layout title="Security" viewer={props.viewer} active="settings">
      <PageHead title="Security" crumbs={[{ label: 'Settings', href: '/settings' }]} sub="Two-factor sign-in with an authenticator app (TOTP)." />
      <div class="stack">
        {props.mustSetUp ? <div class="alert-box warn" role="alert" id="totp-required">Your role must sign in with a second factor. Set it up here to continue.</div> : null}
        {props.passwordAccount ? <TotpCard status={props.status} /> : <section class="card"><div class="card-body">Your account signs in through single sign-on; use your provider's second factor.</div></section>}
        {props.requiredRoles ? <TotpPolicyCard roles={props.requiredRoles} /> : null}
      </div>
    </Layout>
  );
}

/** The user's second factor: off (with the Set up button), on (recovery codes left, turn off, new codes). */
export function TotpCard(props: { status: TotpStatusView }) {
  const s = props.status;
  return (
    <section class="card" id="totp">
      <div class="card-head"><h2>Two-factor sign-in</h2> {s.enabled ? <Badge tone="ok">on</Badge> : <Badge tone="neutral">off</Badge>}</div>
      <div class="card-body">
        {s.enabled ? (
          <>
            <p style="margin:0 0 12px">Signing in asks for a code from your authenticator app after your password. Recovery codes left: <strong id="recovery-left">{s.recovery_codes_left}</strong>.</p>
            <form class="form inline" hx-post="/settings/security/totp/recovery-codes" hx-target="#totp" hx-swap="outerHTML" novalidate>
              <Field name="code" label="Current code"><input id="f-code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength={6} /></Field>
              <div class="form-actions">
                <button class="btn" type="submit">New recovery codes</button>
                {s.required ? null : <button class="btn danger" type="submit" hx-post="/settings/security/totp/disable" hx-confirm="Turn two-factor sign-in off?">Turn off</button>}
              </div>
            </form>
            {s.required ? <p class="muted" style="margin:8px 0 0;font-size:.88rem">Your role requires it, so it cannot be turned off; an admin can reset it if you lose the device.</p> : null}
          </>
        ) : (
          <>
            <p style="margin:0 0 12px">Add an authenticator app (Aegis, andOTP, Google Authenticator, 1Password, KeePassXC…) as a second step after your password.</p>
            <button class="btn primary" id="totp-setup" hx-post="/settings/security/totp/setup" hx-target="#totp" hx-swap="outerHTML">Set up two-factor sign-in</button>
          </>
        )}
      </div>
    </section>
  );
}

/** Enrolment step 1: the secret to add to the app, and the code that confirms it. */
export function TotpSetupCard(props: { setup: TotpSetupView }) {
  return (
    <section class="card" id="totp">
      <div class="card-head"><h2>Two-factor sign-in: add the key to your app</h2></div>
      <div class="card-body">
        <p style="margin:0 0 8px">Enter this key in your authenticator app (time-based, SHA-1, 6 digits, 30 seconds), or paste the otpauth link into a password manager:</p>
        <CodeBlock id="totp-secret" text={props.setup.secret} />
        <details style="margin:8px 0 12px"><summary>otpauth link</summary><CodeBlock id="totp-uri" text={props.setup.otpauth_uri} /></details>
        <form class="form inline" hx-post="/settings/security/totp/enable" hx-target="#totp" hx-swap="outerHTML" novalidate>
          <Field name="code" label="Code shown by the app"><input id="f-code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength={6} autofocus /></Field>
          <div class="form-actions"><button class="btn primary" type="submit">Turn on</button></div>
        </form>
      </div>
    </section>
  );
}

/** The recovery codes, shown this once. */
export function RecoveryCodesCard(props: { codes: string[] }) {
  return (
    <section class="card" id="totp">
      <div class="card-head"><h2>Two-factor sign-in is on</h2> <Badge tone="ok">on</Badge></div>
      <div class="card-body">
        <p style="margin:0 0 8px"><strong>Save these recovery codes now.</strong> Each signs you in once without the app; they are not shown again.</p>
        <CodeBlock id="recovery-codes" text={props.codes.join('\n')} />
        <p style="margin:12px 0 0"><a class="btn" href="/settings/security">Done</a></p>
      </div>
    </section>
  );
}

/** Admin: which roles must sign in with a second factor. */
export function TotpPolicyCard(props: { roles: Role[] }) {
  return (
    <section class="card" id="totp-policy">
      <div class="card-head"><h2>Required for roles</h2></div>
      <div class="card-body">
        <form class="form" hx-post="/settings/security/policy" hx-target="#totp-policy" hx-swap="outerHTML">
          <p style="margin:0 0 8px">Users with these roles who sign in with a password must set up a second factor before they can do anything else.</p>
          <div style="display:flex;gap:16px;margin-bottom:12px">
            {ROLES.map((r) => <label><input type="checkbox" name="roles" value={r} checked={props.roles.includes(r)} /> {r}</label>)}
          </div>
          <div class="form-actions"><button class="btn" type="submit">Save</button></div>
        </form>
      </div>
    </section>
  );
}
