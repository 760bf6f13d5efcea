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
const HOOK_HINT = 'The whole URL is the credential: stored sealed, never shown again.';
const MOVED = 'A changed address needs the token entered again.';

/** One input of a chat form: a sealed secret (never pre-filled) or a plain config value. */
type ChatInput = { secret: string; label: string; hint?: string } | { text: string; label: string; hint: string; placeholder?: string; fallback?: string };
type ChatType = 'slack' | 'discord' | 'telegram' | 'gotify' | 'pushover' | 'matrix';

/** The form of each chat and push channel, in the order its inputs are shown, and its default template. */
const CHAT_FORMS: Record<ChatType, { legend: string; inputs: ChatInput[]; template: string }> = {
  slack: { legend: 'Slack (incoming webhook)', template: '*{{title}}*\n{{body}}', inputs: [{ secret: 'webhook_url', label: 'Webhook URL', hint: `https://hooks.slack.com/services/… ${HOOK_HINT}` }] },
  discord: { legend: 'Discord (webhook)', template: '**{{title}}**\n{{body}}', inputs: [{ secret: 'webhook_url', label: 'Webhook URL', hint: `https://discord.com/api/webhooks/… ${HOOK_HINT}` }] },
  telegram: {
    legend: 'Telegram (bot)', template: CHAT_DEFAULT, inputs: [
      { secret: 'bot_token', label: 'Bot token', hint: 'From @BotFather, e.g. 123456:ABC-DEF…' },
      { text: 'chat_id', label: 'Chat id', hint: 'A numeric id (groups start with -100…) or @channelusername.', placeholder: '-1001234567890' },
      { text: 'api_url', label: 'Bot API server', hint: `Only for a self-hosted Bot API server. ${MOVED}`, fallback: 'https://api.telegram.org' },
    ],
  },
  gotify: {
    legend: 'Gotify', template: '{{body}}', inputs: [
      { text: 'server', label: 'Server', hint: MOVED, placeholder: 'https://gotify.example.org' },
      { secret: 'app_token', label: 'Application token', hint: 'Apps → Create application. Sent as X-Gotify-Key.' },
    ],
  },
  pushover: {
    legend: 'Pushover', template: '{{body}}', inputs: [
      { secret: 'app_token', label: 'Application API token' },
      { secret: 'user_key', label: 'User or group key' },
      { text: 'device', label: 'Device (optional)', hint: 'Empty = every device of the user.' },
      { text: 'api_url', label: 'API server', hint: 'Leave as is unless told otherwise. A changed address needs the credentials entered again.', fallback: 'https://api.pushover.net' },
    ],
  },
  matrix: {
    legend: 'Matrix', template: CHAT_DEFAULT, inputs: [
      { text: 'homeserver', label: 'Homeserver', hint: MOVED, placeholder: 'https://matrix.example.org' },
      { text: 'room_id', label: 'Room id', hint: 'Room settings → Advanced, e.g. !abcdef:example.org. The account must have joined it.', placeholder: '!abcdef:example.org' },
      { secret: 'access_token', label: 'Access token', hint: 'Of the account that posts (a bot account is best). Sent as Authorization: Bearer.' },
    ],
  },
};

/** The fields of Slack, Discord, Telegram, Gotify, Pushover and Matrix channels. */
export function ChatFields(props: { type: ChannelType; c: NotificationChannelView | null }) {
  const c = props.c;
  const form = (CHAT_FORMS as Partial<Record<ChannelType, (typeof CHAT_FORMS)[ChatType]>>)[props.type];
  if (!form) return null;
  return (
    <fieldset>
      <legend>{form.legend}</legend>
      {form.inputs.map((i) =>
        'secret' in i ? (
          <SecretField name={i.secret} label={i.label} set={c?.secrets[i.secret] === 'set'} editing={false} {...(i.hint ? { hint: i.hint } : {})} />
        ) : (
          <Field name={`config.${i.text}`} label={i.label} hint={i.hint}>
            <input id={`f-config.${i.text}`} name={`config.${i.text}`} value={cfg(c, i.text) || (i.fallback ?? '')} {...(i.placeholder ? { placeholder: i.placeholder } : {})} />
          </Field>
        ),
      )}
      <TemplateField c={c} fallback={form.template} />
    </fieldset>
  );
}
