import type { AlertEvent, Transport } from './types.js';
import { DeliveryError } from './types.js';
import { sendHttp, trimBase } from './http-send.js';
import { clip, textOf, titleOf } from './message.js';

/** Pushover priorities: 1 (high, bypasses quiet hours) critical, 0 warning, -1 (quiet) info / resolved / test. Never 2 (needs retry/expire). */
const priorityOf = (e: AlertEvent): string => (e.event !== 'alert.raised' ? '-1' : e.alert.severity === 'critical' ? '1' : e.alert.severity === 'warning' ? '0' : '-1');

/**
 * Pushover: `POST <api_url>/1/messages.json`, form-encoded `token`, `user`, `message` (≤ 1024
 * characters), `title` (≤ 250), `priority`, `url`, `url_title` and optionally `device`.
 * `api_url` defaults to https://api.pushover.net.
 */
export const pushoverTransport: Transport = {
  async send(config, secrets, event, o) {
    if (!secrets.app_token || !secrets.user_key) throw new DeliveryError('the application token and the user key must both be stored: edit the channel and enter them');
    const form = new URLSearchParams({
      token: secrets.app_token, user: secrets.user_key, message: clip(textOf(config, event, '{{body}}'), 1024), title: clip(titleOf(event), 250),
      priority: priorityOf(event), url: `${event.server_url}/alerts`, url_title: 'Open alerts',
    });
    if (typeof config.device === 'string' && config.device) form.set('device', config.device);
    const status = await sendHttp(o, secrets, {
      service: 'Pushover', url: `${trimBase(config.api_url)}/1/messages.json`, field: 'config.api_url',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(),
    });
    return `Pushover accepted the message (HTTP ${status})`;
  },
};
