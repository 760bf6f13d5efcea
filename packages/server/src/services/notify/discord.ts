import { sendHttp } from './http-send.js';
import { clip, textOf } from './message.js';
import type { Transport } from './types.js';
import { DeliveryError } from './types.js';

/**
 * Discord webhook: `POST <webhook URL>` with `{"content": …, "allowed_mentions": {"parse": []}}`
 * as JSON — content at most 2000 characters (cut with “…”), and no mention in an alert text can
 * ping @everyone, a role or a user. Discord answers 204. The webhook URL is a sealed secret.
 */
export const discordTransport: Transport = {
  async send(config, secrets, event, o) {
    if (!secrets.webhook_url) throw new DeliveryError('no webhook URL is stored: edit the channel and enter it');
    const content = clip(textOf(config, event, '**{{title}}**\n{{body}}'), 2000);
    const status = await sendHttp(o, secrets, {
      service: 'Discord', url: secrets.webhook_url, field: 'config.webhook_url', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content, allowed_mentions: { parse: [] } }),
    });
    return `Discord accepted the message (HTTP ${status})`;
  },
};
