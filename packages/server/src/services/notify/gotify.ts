import type { AlertEvent, Transport } from './types.js';
import { DeliveryError } from './types.js';
import { sendHttp, trimBase } from './http-send.js';
import { textOf, titleOf } from './message.js';

/** Gotify priorities (0–10): 8 critical, 5 warning, 2 info / resolved / test. */
const priorityOf = (e: AlertEvent): number => (e.event !== 'alert.raised' ? 2 : e.alert.severity === 'critical' ? 8 : e.alert.severity === 'warning' ? 5 : 2);

/**
 * Gotify: `POST <server>/message` with the application token in `X-Gotify-Key` (never in the
 * query string, where proxies log it) and `{"title", "message", "priority", "extras"}` as JSON;
 * extras ask clients for plain text and open the alerts page on click.
 */
export const gotifyTransport: Transport = {
  async send(config, secrets, event, o) {
    if (!secrets.app_token) throw new DeliveryError('no application token is stored: edit the channel and enter it');
    const body = {
      title: titleOf(event), message: textOf(config, event, '{{body}}'), priority: priorityOf(event),
      extras: { 'client::display': { contentType: 'text/plain' }, 'client::notification': { click: { url: `${event.server_url}/alerts` } } },
    };
    const status = await sendHttp(o, secrets, {
      service: 'Gotify', url: `${trimBase(config.server)}/message`, field: 'config.server',
      headers: { 'content-type': 'application/json', 'x-gotify-key': secrets.app_token }, body: JSON.stringify(body),
    });
    return `Gotify accepted the message (HTTP ${status})`;
  },
};
