import { BareLayout, Brand } from '../components/layout.js';

/** How the page offers sign-in: the password form and/or a "Sign in with <sso>" button. */
export interface LoginMethods {
  password: boolean;
  /** Label of the OIDC provider; null = no SSO button. */
  sso: string | null;
}

/** Sign-in page. `error` is the server's generic message (never says which of user/password was wrong). */
export function LoginPage(props: { error?: string | undefined; username?: string | undefined; next?: string | undefined; notice?: string | undefined; methods?: LoginMethods }) {
  const methods = props.methods ?? { password: true, sso: null };
  const next = props.next ?? '/';
  return (
    <BareLayout title="Sign in">
      <div class="card login-card">
        <Brand />
        <h1 style="font-size:1.15rem;margin-bottom:16px">Sign in</h1>
        {props.notice ? <div class="alert-box info" style="margin-bottom:16px">{props.notice}</div> : null}
        {props.error ? (
          <div class="alert-box danger" role="alert" style="margin-bottom:16px" id="login-error">
            {props.error}
          </div>
        ) : null}
        {methods.sso ? (
          <a class={`btn${methods.password ? '' : ' primary'}`} id="sso-login" style="width:100%;margin-bottom:16px;justify-content:center" href={`/auth/oidc/login?next=${encodeURIComponent(next)}`}>
            Sign in with {methods.sso}
          </a>
        ) : null}
        {methods.sso && methods.password ? <p class="or-divider" aria-hidden="true"><span>or with a password</span></p> : null}
        {methods.password ? (
        <form method="post" action="/login" class="form">
          <input type="hidden" name="next" value={next} />
          <div class="field">
            <label for="f-username">Username</label>
            <input id="f-username" name="username" autocomplete="username" required autofocus value={props.username ?? ''} />
          </div>
          <div class="field">
            <label for="f-password">Password</label>
            <input id="f-password" name="password" type="password" autocomplete="current-password" required />
          </div>
          <button class="btn primary" type="submit" style="width:100%">Sign in</button>
        </form>
        ) : null}
      </div>
    </BareLayout>
  );
}

/** Sign-in step 2 for an account with a second factor: the code from the authenticator app, or a recovery code. */
export function TotpPage(props: { challenge: string; next: string; error?: string | undefined }) {
  return (
    <BareLayout title="Two-factor sign-in">
      <div class="card login-card">
        <Brand />
        <h1 style="font-size:1.15rem;margin-bottom:16px">Two-factor sign-in</h1>
        {props.error ? <div class="alert-box danger" role="alert" style="margin-bottom:16px" id="login-error">{props.error}</div> : null}
        <form method="post" action="/login/totp" class="form" id="totp-form">
          <input type="hidden" name="next" value={props.next} />
          <input type="hidden" name="challenge" value={props.challenge} />
          <div class="field">
            <label for="f-code">Code from your authenticator app</label>
            <input id="f-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength={6} autofocus />
          </div>
          <details style="margin-bottom:12px">
            <summary>Use a recovery code instead</summary>
            <div class="field" style="margin-top:8px">
              <label for="f-recovery_code">Recovery code</label>
              <input id="f-recovery_code" name="recovery_code" autocomplete="off" placeholder="abcde-fgh23" />
            </div>
          </details>
          <button class="btn primary" type="submit" style="width:100%">Verify</button>
        </form>
        <p class="muted" style="margin:12px 0 0;font-size:.88rem"><a href="/login">Start over</a></p>
      </div>
    </BareLayout>
  );
}
