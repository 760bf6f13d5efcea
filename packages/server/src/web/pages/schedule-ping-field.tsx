import { Field } from '../components/ui.js';

/**
 * The schedule editor's dead-man's switch (issue 21, admins): a Healthchecks-style ping URL.
 * A secret (its path identifies the check): never pre-filled; empty keeps the stored one.
 */
export function PingFieldset(props: { set: boolean; scheduleId?: string | null }) {
  return (
    <fieldset class="field" id="ping-fieldset"><legend>Dead-man’s switch (Healthchecks-style ping, admins)</legend>
      <Field name="healthcheck_url" label="Ping URL" hint={`${props.set ? 'Stored (set): empty keeps it. ' : ''}Each run pings <url>/start, then <url> on success or <url>/fail on failure (healthchecks.io or a self-hosted Healthchecks). The URL is kept sealed and never shown again.`}>
        <input id="f-healthcheck_url" name="healthcheck_url" type="password" autocomplete="off" placeholder={props.set ? '•••••• (set)' : 'https://hc-ping.com/<uuid>'} class="input-wide" />
      </Field>
      {props.set ? <label class="host-sub"><input type="checkbox" name="clear_healthcheck_url" value="on" /> Remove the stored ping URL</label> : null}
      {props.set && props.scheduleId ? (
        <div class="form-actions">
          <button type="button" class="btn small" id="ping-test-btn" hx-post={`/schedules/${props.scheduleId}/ping-test`} hx-swap="none">Send test</button>
          <span class="muted">pings &lt;url&gt;/log: Healthchecks records it without changing the check’s state</span>
        </div>
      ) : null}
    </fieldset>
  );
}
