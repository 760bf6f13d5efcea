import { sendHttp } from './http-send.js';
import { textOf } from './message.js';
import type { Transport } from './types.js';
import { DeliveryError } from './types.js';

/** Slack's mrkdwn needs `&`, `<` and `>` escaped in text that is not markup. */
export const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Slack incoming webhook: `POST <webhook URL>` with `{"text": …}` as JSON. The URL's path is
 * the credential, so the whole URL is a sealed secret. Variables are mrkdwn-escaped; the
 * template's own text may use Slack markup (`*bold*`, `<url|label>`).
 */
export const slackTransport: Transport = {
  async send(_config, secrets, event, o) {
    if (!secrets.webhook_url) throw new DeliveryError('no webhook URL is stored: edit the channel and enter it');
    const text = textOf(_config, event, '*{{title}}*\n{{body}}', slackEscape);
    const status = await sendHttp(o, secrets, { service: 'Slack', url: secrets.webhook_url, field: 'config.webhook_url', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
    return `Slack accepted the message (HTTP ${status})`;
  },
};
