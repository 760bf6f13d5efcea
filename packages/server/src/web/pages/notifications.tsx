import type { AlertSettings, ChannelType, NotificationChannelView, NotificationOutboxItem } from '@restic-manager/protocol';
import { AlertKind, AlertSeverity, ChannelType as ChannelTypeSchema } from '@restic-manager/protocol';
import { Badge, Empty, Field, RelTime } from '../components/ui.js';
import { ChatFields, SecretField, TemplateField, cfg, channelTarget } from './channel-fields.js';

/* Settings → Notification channels and Alert rules (admin). Forms post flat `config.<x>` names that
   the REST schema validates, so field errors land next to the inputs. */

const TYPE_LABEL: Record<ChannelType, string> = {
  webhook: 'Webhook', ntfy: 'ntfy', email: 'E-mail (SMTP)', slack: 'Slack', discord: 'Discord', telegram: 'Telegram', gotify: 'Gotify', pushover: 'Pushover', matrix: 'Matrix',
};


function target(c: NotificationChannelView): string {
  if (c.type === 'webhook') return cfg(c, 'url');
  if (c.type === 'ntfy') return `${cfg(c, 'server').replace(/\/+$/, '')}/${cfg(c, 'topic')}`;
  if (c.type === 'email') return `${cfg(c, 'to')} via ${cfg(c, 'host')}:${cfg(c, 'port')}`;
  return channelTarget(c);
}

function DeliveryStatus(props: { c: NotificationChannelView }) {
  const d = props.c.last_delivery;
  if (!d.status) return <Badge tone="neutral">never sent</Badge>;
  const tone = d.status === 'ok' ? 'ok' : d.status === 'retrying' ? 'warn' : 'danger';
  return (
    <div>
      <Badge tone={tone}>{d.status === 'ok' ? 'delivered' : d.status}</Badge> <RelTime iso={d.at} />
      {d.error ? <div class="host-sub" data-channel-error style="overflow-wrap:anywhere">{d.error}{d.status === 'retrying' ? ` (attempt ${d.attempts})` : ''}</div> : null}
      {props.c.outbox.waiting || props.c.outbox.dead ? (
        <div class="host-sub" data-channel-outbox>
          {props.c.outbox.waiting ? `${props.c.outbox.waiting} waiting` : ''}{props.c.outbox.waiting && props.c.outbox.dead ? ' · ' : ''}{props.c.outbox.dead ? `${props.c.outbox.dead} dead letter(s)` : ''}
        </div>
      ) : null}
    </div>
  );
}

export function ChannelRow(props: { c: NotificationChannelView }) {
  const c = props.c;
  return (
    <tr id={`channel-${c.id}`}>
      <td><strong>{c.name}</strong>{c.enabled ? null : <> <Badge tone="neutral" plain>disabled</Badge></>}<div class="host-sub mono" style="overflow-wrap:anywhere">{target(c)}</div></td>
      <td>{TYPE_LABEL[c.type]}</td>
      <td class="hide-sm">{c.kinds.length ? c.kinds.map((k) => <span class="tag">{k}</span>) : <span class="muted">all kinds</span>}<div class="host-sub">{c.min_severity} and above</div></td>
      <td><DeliveryStatus c={c} /></td>
      <td class="num">
        <span style="display:inline-flex;gap:6px">
          <button class="btn small" hx-post={`/settings/channels/${c.id}/test`} hx-target={`#channel-${c.id}`} hx-swap="outerHTML">Send test</button>
          <button class="btn small" hx-get={`/settings/channels/form?id=${c.id}`} hx-target="#channel-form" hx-swap="outerHTML">Edit</button>
          <button class="btn small danger" hx-delete={`/settings/channels/${c.id}`} hx-confirm={`Delete the channel “${c.name}”? It stops receiving alerts.`} hx-target="#channels" hx-swap="outerHTML">Delete</button>
        </span>
      </td>
    </tr>
  );
}


function TypeFields(props: { type: ChannelType; c: NotificationChannelView | null }) {
  const c = props.c;
  const set = (k: string) => c?.secrets[k] === 'set';
  if (props.type === 'webhook') {
    return (
      <fieldset>
        <legend>Webhook</legend>
        <Field name="config.url" label="URL" hint="Receives a JSON POST per alert change."><input id="f-config.url" name="config.url" value={cfg(c, 'url')} placeholder="https://example.org/hooks/backup" /></Field>
        <SecretField name="secret" label="Signing secret (optional)" set={set('secret')} editing={!!c} hint="With a secret, X-RM-Signature-256 carries sha256=HMAC of the body." />
      </fieldset>
    );
  }
  if (props.type === 'ntfy') {
    return (
      <fieldset>
        <legend>ntfy</legend>
        <Field name="config.server" label="Server"><input id="f-config.server" name="config.server" value={cfg(c, 'server') || 'https://ntfy.sh'} /></Field>
        <Field name="config.topic" label="Topic"><input id="f-config.topic" name="config.topic" value={cfg(c, 'topic')} placeholder="backup-alerts" /></Field>
        <SecretField name="token" label="Access token (optional)" set={set('token')} editing={!!c} hint="Sent as Authorization: Bearer." />
        <TemplateField c={c} fallback="{{body}}" />
      </fieldset>
    );
  }
  if (props.type !== 'email') return <ChatFields type={props.type} c={c} />;
  const tls = cfg(c, 'tls') || 'starttls';
  return (
    <fieldset>
      <legend>E-mail (SMTP)</legend>
      <Field name="config.host" label="SMTP host"><input id="f-config.host" name="config.host" value={cfg(c, 'host')} placeholder="smtp.example.org" /></Field>
      <Field name="config.port" label="Port"><input id="f-config.port" name="config.port" inputmode="numeric" value={cfg(c, 'port') || '587'} /></Field>
      <Field name="config.tls" label="TLS">
        <select id="f-config.tls" name="config.tls">
          {(['starttls', 'tls', 'none'] as const).map((t) => <option value={t} selected={tls === t}>{t === 'starttls' ? 'STARTTLS (587)' : t === 'tls' ? 'TLS (465)' : 'none (plain)'}</option>)}
        </select>
      </Field>
      <Field name="config.username" label="Username (optional)"><input id="f-config.username" name="config.username" value={cfg(c, 'username')} autocomplete="off" /></Field>
      <SecretField name="password" label="Password" set={set('password')} editing={!!c} />
      <Field name="config.from" label="From"><input id="f-config.from" name="config.from" value={cfg(c, 'from')} placeholder="restic-manager@example.org" /></Field>
      <Field name="config.to" label="To" hint="One or more addresses, separated by commas."><input id="f-config.to" name="config.to" value={cfg(c, 'to')} placeholder="ops@example.org" /></Field>
      <TemplateField c={c} fallback="{{body}}" />
    </fieldset>
  );
}

/** The add / edit form; the type select re-renders the per-type fields in place. */
export function ChannelForm(props: { type: ChannelType; channel: NotificationChannelView | null }) {
  const c = props.channel;
  return (
    <form id="channel-form" class="form" {...(c ? { 'hx-put': `/settings/channels/${c.id}` } : { 'hx-post': '/settings/channels' })} hx-target="#channels" hx-swap="outerHTML" novalidate>
      <h3>{c ? `Edit “${c.name}”` : 'Add a channel'}</h3>
      <Field name="type" label="Type">
        {c ? (
          <><input type="hidden" name="type" value={c.type} /><input id="f-type" value={TYPE_LABEL[c.type]} disabled /></>
        ) : (
          <select id="f-type" name="type" hx-get="/settings/channels/form" hx-target="#channel-form" hx-swap="outerHTML" hx-trigger="change">
            {ChannelTypeSchema.options.map((t) => <option value={t} selected={props.type === t}>{TYPE_LABEL[t]}</option>)}
          </select>
        )}
      </Field>
      <Field name="name" label="Name"><input id="f-name" name="name" value={c?.name ?? ''} placeholder="On-call e-mail" /></Field>
      <TypeFields type={props.type} c={c} />
      <fieldset>
        <legend>Which alerts</legend>
        <Field name="kinds" label="Kinds" hint="None ticked = every kind.">
          <div style="display:flex;flex-wrap:wrap;gap:4px 16px">
            {AlertKind.options.map((k) => <label class="nowrap" style="font-weight:400"><input type="checkbox" name="kinds" value={k} checked={c?.kinds.includes(k) ?? false} /> {k}</label>)}
          </div>
        </Field>
        <Field name="min_severity" label="Minimum severity">
          <select id="f-min_severity" name="min_severity">
            {AlertSeverity.options.map((s) => <option value={s} selected={(c?.min_severity ?? 'info') === s}>{s}</option>)}
          </select>
        </Field>
      </fieldset>
      <label><input type="checkbox" name="enabled" value="on" checked={c ? c.enabled : true} /> Enabled</label>
      <div class="form-actions">
        <button class="btn primary" type="submit">{c ? 'Save channel' : 'Add channel'}</button>
        {c ? <button class="btn" type="button" hx-get={`/settings/channels/form?type=${c.type}`} hx-target="#channel-form" hx-swap="outerHTML">Cancel</button> : null}
      </div>
    </form>
  );
}

/** Events given up on after the last attempt: an admin sends them again or discards them. */
function DeadLetters(props: { items: NotificationOutboxItem[] }) {
  if (props.items.length === 0) return null;
  return (
    <div class="table-wrap" id="dead-letters">
      <h3 style="margin:12px 16px 4px">Dead letters</h3>
      <table>
        <thead><tr><th>Channel</th><th>Event</th><th class="hide-sm">Last error</th><th><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {props.items.map((i) => (
            <tr id={`dead-${i.seq}`}>
              <td>{i.channel_name}<div class="host-sub"><RelTime iso={i.created_at} /></div></td>
              <td>{i.event.startsWith('ping.') ? i.event : i.event === 'alert.resolved' ? 'resolved' : 'raised'} <span class="tag">{i.alert_kind}</span>{i.host_name ? <div class="host-sub">{i.host_name}</div> : null}</td>
              <td class="hide-sm" style="overflow-wrap:anywhere">{i.last_error ?? ''} <span class="host-sub">({i.attempts} attempts)</span></td>
              <td class="num">
                <span style="display:inline-flex;gap:6px">
                  <button class="btn small" hx-post={`/settings/outbox/${i.seq}/retry`} hx-target="#channels" hx-swap="outerHTML">Send again</button>
                  <button class="btn small danger" hx-delete={`/settings/outbox/${i.seq}`} hx-confirm="Discard this notification?" hx-target="#channels" hx-swap="outerHTML">Discard</button>
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ChannelsCard(props: { channels: NotificationChannelView[]; dead?: NotificationOutboxItem[] }) {
  return (
    <section class="card" id="channels">
      <div class="card-head"><h2>Notification channels</h2><span class="muted" style="font-size:.88rem">Told when an alert is raised and when it resolves.</span></div>
      {props.channels.length === 0 ? (
        <Empty title="No channels yet">Add a webhook, ntfy topic, e-mail address, Slack, Discord, Telegram, Gotify, Pushover or Matrix channel below.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead><tr><th>Channel</th><th>Type</th><th class="hide-sm">Receives</th><th>Last delivery</th><th><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>{props.channels.map((c) => <ChannelRow c={c} />)}</tbody>
          </table>
        </div>
      )}
      <DeadLetters items={props.dead ?? []} />
      <div class="card-foot"><ChannelForm type="webhook" channel={null} /></div>
    </section>
  );
}

export function AlertRulesCard(props: { settings: AlertSettings & { updated_at: string | null } }) {
  const s = props.settings;
  return (
    <section class="card" id="alert-rules">
      <div class="card-head"><h2>Alert rules</h2>{s.updated_at ? <span class="muted" style="font-size:.88rem">changed <RelTime iso={s.updated_at} /></span> : <span class="muted" style="font-size:.88rem">defaults</span>}</div>
      <div class="card-body">
        <p class="muted" style="margin:0 0 12px">A failed backup or repository check always raises an alert. These thresholds tune the others.</p>
        <form class="form inline" hx-put="/settings/alert-rules" hx-target="#alert-rules" hx-swap="outerHTML" novalidate>
          <Field name="agent_offline_minutes" label="Agent offline after (minutes)"><input id="f-agent_offline_minutes" name="agent_offline_minutes" inputmode="numeric" value={String(s.agent_offline_minutes)} /></Field>
          <Field name="backup_overdue_hours" label="Backup overdue after (hours past due)"><input id="f-backup_overdue_hours" name="backup_overdue_hours" inputmode="numeric" value={String(s.backup_overdue_hours)} /></Field>
          <Field name="repo_growth_percent" label="Repository growth above (%)"><input id="f-repo_growth_percent" name="repo_growth_percent" inputmode="numeric" value={String(s.repo_growth_percent)} /></Field>
          <Field name="restore_unproven_days" label="Restore unproven after (days without a successful drill)"><input id="f-restore_unproven_days" name="restore_unproven_days" inputmode="numeric" value={String(s.restore_unproven_days)} /></Field>
          <div class="form-actions"><button class="btn primary" type="submit">Save rules</button></div>
        </form>
      </div>
    </section>
  );
}
