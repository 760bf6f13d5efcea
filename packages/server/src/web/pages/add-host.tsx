import { appendOnlyDefault, appendOnlyEnforceable } from '@restic-manager/protocol';
import type { EnrollmentTokenResponse, HostView } from '@restic-manager/protocol';
import type { Viewer } from '../components/layout.js';
import { Layout, PageHead } from '../components/layout.js';
import { CodeBlock, Field, HostStatusBadge, RelTime } from '../components/ui.js';

export function AddHostPage(props: { viewer: Viewer }) {
  return (
    <Layout title="Add host" viewer={props.viewer} active="dashboard">
      <PageHead title="Add host" crumbs={[{ label: 'Dashboard', href: '/' }]} sub="Creates the host and a one-time enrollment token (valid for 1 hour)." />
      <div id="add-host" class="card">
        <div class="card-body">
          <AddHostForm />
        </div>
      </div>
    </Layout>
  );
}

/** Field names are the REST schema's paths, so the server's `error.fields` land on the right inputs. */
export function AddHostForm() {
  return (
    <form class="form" hx-post="/hosts/new" hx-target="#add-host" hx-swap="innerHTML" novalidate>
      <Field name="name" label="Name" hint="How the host is shown in restic-manager, e.g. the machine's hostname.">
        <input id="f-name" name="name" required maxlength={128} autocomplete="off" />
      </Field>
      <Field name="tags" label="Tags" hint="Optional, comma-separated: letters, digits and _ . : -">
        <input id="f-tags" name="tags" placeholder="prod, db" autocomplete="off" />
      </Field>
      <fieldset>
        <legend>Repository</legend>
        <Field name="repository.url" label="Repository URL" hint="e.g. rest:https://backup.example:8000/web01/ — without credentials in the URL.">
          <input id="f-repository.url" name="repository.url" required placeholder="rest:https://rest-server:8000/host/" autocomplete="off" {...APPEND_ONLY_REFRESH} />
        </Field>
        <Field name="repository.password" label="Repository password" hint="Leave empty to generate a strong one (shown once on the next screen).">
          <input id="f-repository.password" name="repository.password" type="password" autocomplete="new-password" />
        </Field>
        <Field name="repository.rest_username" label="REST server user" hint="Optional: the htpasswd user for this host on the REST server.">
          <input id="f-repository.rest_username" name="repository.rest_username" autocomplete="off" {...APPEND_ONLY_REFRESH} />
        </Field>
        <Field name="repository.rest_password" label="REST server password" hint="Leave empty to generate one; the htpasswd line is shown next.">
          <input id="f-repository.rest_password" name="repository.rest_password" type="password" autocomplete="new-password" />
        </Field>
        <AppendOnlyField url="" restUsername="" />
      </fieldset>
      <div class="form-actions">
        <button class="btn primary" type="submit">Create host and token</button>
        <a class="btn" href="/">Cancel</a>
      </div>
    </form>
  );
}

/**
 * Re-renders the append-only field when the URL or REST user changes (GET with those two values
 * only: never the passwords). hx-target/hx-swap are set here so the form's are not inherited.
 */
const APPEND_ONLY_REFRESH = {
  'hx-get': '/partials/add-host/append-only',
  'hx-trigger': 'change',
  'hx-include': "[name='repository.url'],[name='repository.rest_username']",
  'hx-target': '#append-only-field',
  'hx-swap': 'outerHTML',
};

/**
 * The append-only choice, offered only where the backend enforces it (a `rest:` URL; see
 * appendOnlyEnforceable). Checked by default when a REST user is set, as the API's default.
 * `append_only_offered` tells the form action that the checkbox was shown (unchecked = false);
 * without it the API's default applies (off for anything but REST).
 */
export function AppendOnlyField(props: { url: string; restUsername: string }) {
  if (!appendOnlyEnforceable(props.url)) {
    return (
      <div id="append-only-field" class="muted" style="font-size:.88rem">
        {props.url.trim()
          ? 'Append-only is not offered for this repository: only a REST server (rest-server or rclone serve restic with --append-only) can enforce it. The host\'s credential can delete, so forget and prune run with it.'
          : 'Append-only is offered for REST server repositories (rest:…).'}
      </div>
    );
  }
  return (
    <div id="append-only-field">
      <input type="hidden" name="repository.append_only_offered" value="true" />
      <label style="display:flex;gap:8px;align-items:center">
        <input type="checkbox" name="repository.append_only" value="true" checked={appendOnlyDefault(props.url, props.restUsername)} /> Append-only credential (recommended)
      </label>
      <div class="muted" style="font-size:.88rem">
        Start the REST server with <code>--append-only</code> for this user: the host can add backups but not delete them. Forget and prune then need a maintenance credential (a second REST user).
      </div>
    </div>
  );
}

/** Shown once after the host is created: secrets, the install command, and a live enrollment watcher. */
export function EnrollmentResultView(props: { result: EnrollmentTokenResponse; name: string }) {
  const r = props.result;
  return (
    <div class="card-body" style="display:grid;gap:20px">
      <div class="alert-box warn" role="status">
        Copy these now: the token and any generated passwords are shown <strong>only once</strong>.
      </div>
      <ol class="steps">
        {r.htpasswd_line ? (
          <li>
            <div class="step-title">On the REST server, add this host's user</div>
            <CodeBlock id="htpasswd-line" text={r.htpasswd_line} />
          </li>
        ) : null}
        <li>
          <div class="step-title">On {props.name}, install and enroll the agent (as root)</div>
          <CodeBlock id="install-command" text={r.install_command} />
          <div class="muted" style="font-size:.88rem">
            Token expires <RelTime iso={r.expires_at} />. Enrollment token: <code id="enroll-token">{r.token}</code>
          </div>
        </li>
        {r.generated_password ? (
          <li>
            <div class="step-title">Store the generated repository password somewhere safe</div>
            <CodeBlock id="generated-password" text={r.generated_password} />
            <div class="muted" style="font-size:.88rem">Without it the repository cannot be restored if this server is lost.</div>
          </li>
        ) : null}
        {r.generated_rest_password && !r.htpasswd_line ? (
          <li>
            <div class="step-title">Generated REST server password</div>
            <CodeBlock id="generated-rest-password" text={r.generated_rest_password} />
          </li>
        ) : null}
        <li>
          <div class="step-title">Wait for the agent</div>
          <EnrollWatch hostId={r.host_id} host={null} />
        </li>
      </ol>
    </div>
  );
}

/** Polls every 2 s until the host has enrolled, then shows it (and stops polling). */
export function EnrollWatch(props: { hostId: string; host: HostView | null }) {
  const h = props.host;
  if (h && h.enrolled_at) {
    return (
      <div id="enroll-watch" class="alert-box ok" data-enrolled="true">
        <strong>{h.name}</strong> enrolled <RelTime iso={h.enrolled_at} /> — <HostStatusBadge status={h.status} />{' '}
        {h.hostname ? <span>({h.hostname}, {h.os ?? '?'} / {h.arch ?? '?'}, agent {h.agent_version ?? '?'})</span> : null}{' '}
        <a href={`/hosts/${h.id}`}>Open host →</a>
      </div>
    );
  }
  return (
    <div id="enroll-watch" class="alert-box info" hx-get={`/partials/enroll/${props.hostId}`} hx-trigger="every 2s" hx-swap="outerHTML">
      <span class="live-dot" data-state="live">Waiting for the agent to enroll…</span>
    </div>
  );
}
