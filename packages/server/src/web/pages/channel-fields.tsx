import type { ChannelType, NotificationChannelView } from '@restic-manager/protocol';
import { TEMPLATE_VARIABLES } from '@restic-manager/protocol';
import { Field } from '../components/ui.js';

/* The per-type fields of the chat and push channels (issue 21), the template field every text channel has, and the shared inputs. */

export const cfg = (c: NotificationChannelView | null, k: string): string => {
  const v = c?.config[k];
  return Array.isArray(v) ? v.join(', ') : v == null ? '' : String(v as string | number);
};

/** A secret input: never pre-filled; "set" shows as a placeholder; editing offers to remove it. */
export function SecretField(props: { name: string; label: string; set: boolean; editing: boolean; hint?: string }) {
  return (
    <Field name={`config.${props.name}`} label={props.label} hint={props.set ? 'Stored (set). Leave empty to keep it.' : (props.hint ?? 'Not set.')}>
      <input id={`f-config.${props.name}`} name={`config.${props.name}`} type="password" autocomplete="new-password" placeholder={props.set ? '•••••• (set)' : ''} />
      {props.editing && props.set ? <label class="host-sub"><input type="checkbox" name={`clear.${props.name}`} value="on" /> Remove the stored value</label> : null}
    </Field>
  );
}

/** The message template (optional; empty = the default shown as placeholder). */
export function TemplateField(props: { c: NotificationChannelView | null; fallback: string }) {
  return (
    <Field name="config.template" label="Message template (optional)" hint={`Empty = ${props.fallback}. Variables: ${Object.keys(TEMPLATE_VARIABLES).map((v) => `{{${v}}}`).join(' ')}`}>
      <textarea id="f-config.template" name="config.template" rows={3} placeholder={props.fallback}>{cfg(props.c, 'template')}</textarea>
    </Field>
  );
}

/** What the channel list shows as a chat/push channel's destination (never a secret URL). */
export function channelTarget(c: NotificationChannelView): string {
  switch (c.type) {
    case 'slack':
    case 'discord':
      return c.secrets.webhook_url === 'set' ? 'webhook URL stored (secret)' : 'no webhook URL';
    case 'telegram':
      return `chat ${cfg(c, 'chat_id')} via ${cfg(c, 'api_url')}`;
    case 'gotify':
      return cfg(c, 'server');
    case 'pushover':
      return `${cfg(c, 'api_url')}${cfg(c, 'device') ? ` (device ${cfg(c, 'device')})` : ''}`;
    case 'matrix':
      return `${cfg(c, 'room_id')} on ${cfg(c, 'homeserver')}`;
    default:
      return '';
  }
}

const CHAT_DEFAULT = '{{title}}\n\n{{body}}';

/** The fields of Slack, Discord, Telegram, Gotify, Pushover and Matrix channels. */
export function ChatFields(props: { type: ChannelType; c: NotificationChannelView | null }) {
  const c = props.c;
  const set = (k: string) => c?.secrets[k] === 'set';
  const hookHint = 'The whole URL is the credential: stored sealed, never shown again.';
  switch (props.type) {
    case 'slack':
      return (
        <fieldset>
          <legend>Slack (incoming webhook)</legend>
          <SecretField name="webhook_url" label="Webhook URL" set={set('webhook_url')} editing={false} hint={`https://hooks.slack.com/services/… ${hookHint}`} />
          <TemplateField c={c} fallback={'*{{title}}*\n{{body}}'} />
        </fieldset>
      );
    case 'discord':
      return (
        <fieldset>
          <legend>Discord (webhook)</legend>
          <SecretField name="webhook_url" label="Webhook URL" set={set('webhook_url')} editing={false} hint={`https://discord.com/api/webhooks/… ${hookHint}`} />
          <TemplateField c={c} fallback={'**{{title}}**\n{{body}}'} />
        </fieldset>
      );
    case 'telegram':
      return (
        <fieldset>
          <legend>Telegram (bot)</legend>
          <SecretField name="bot_token" label="Bot token" set={set('bot_token')} editing={false} hint="From @BotFather, e.g. 123456:ABC-DEF…" />
          <Field name="config.chat_id" label="Chat id" hint="A numeric id (groups start with -100…) or @channelusername."><input id="f-config.chat_id" name="config.chat_id" value={cfg(c, 'chat_id')} placeholder="-1001234567890" /></Field>
          <Field name="config.api_url" label="Bot API server" hint="Only for a self-hosted Bot API server. A changed address needs the token entered again."><input id="f-config.api_url" name="config.api_url" value={cfg(c, 'api_url') || 'https://api.telegram.org'} /></Field>
          <TemplateField c={c} fallback={CHAT_DEFAULT} />
        </fieldset>
      );
    case 'gotify':
      return (
        <fieldset>
          <legend>Gotify</legend>
          <Field name="config.server" label="Server" hint="A changed address needs the token entered again."><input id="f-config.server" name="config.server" value={cfg(c, 'server')} placeholder="https://gotify.example.org" /></Field>
          <SecretField name="app_token" label="Application token" set={set('app_token')} editing={false} hint="Apps → Create application. Sent as X-Gotify-Key." />
          <TemplateField c={c} fallback="{{body}}" />
        </fieldset>
      );
    case 'pushover':
      return (
        <fieldset>
          <legend>Pushover</legend>
          <SecretField name="app_token" label="Application API token" set={set('app_token')} editing={false} />
          <SecretField name="user_key" label="User or group key" set={set('user_key')} editing={false} />
          <Field name="config.device" label="Device (optional)" hint="Empty = every device of the user."><input id="f-config.device" name="config.device" value={cfg(c, 'device')} /></Field>
          <Field name="config.api_url" label="API server" hint="Leave as is unless told otherwise. A changed address needs the credentials entered again."><input id="f-config.api_url" name="config.api_url" value={cfg(c, 'api_url') || 'https://api.pushover.net'} /></Field>
          <TemplateField c={c} fallback="{{body}}" />
        </fieldset>
      );
    case 'matrix':
      return (
        <fieldset>
          <legend>Matrix</legend>
          <Field name="config.homeserver" label="Homeserver" hint="A changed address needs the token entered again."><input id="f-config.homeserver" name="config.homeserver" value={cfg(c, 'homeserver')} placeholder="https://matrix.example.org" /></Field>
          <Field name="config.room_id" label="Room id" hint="Room settings → Advanced, e.g. !abcdef:example.org. The account must have joined it."><input id="f-config.room_id" name="config.room_id" value={cfg(c, 'room_id')} placeholder="!abcdef:example.org" /></Field>
          <SecretField name="access_token" label="Access token" set={set('access_token')} editing={false} hint="Of the account that posts (a bot account is best). Sent as Authorization: Bearer." />
          <TemplateField c={c} fallback={CHAT_DEFAULT} />
        </fieldset>
      );
    default:
      return null;
  }
}
