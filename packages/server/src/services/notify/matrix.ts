import { createHash } from 'node:crypto';
import type { Transport } from './types.js';
import { DeliveryError } from './types.js';
import { sendHttp, trimBase } from './http-send.js';
import { textOf } from './message.js';

/**
 * The transaction id of one event to one room: the same on every retry of an outbox row, so a
 * homeserver that stored an attempt whose answer was lost does not post the message twice.
 */
export const txnIdOf = (roomId: string, eventJson: string): string => `rm-${createHash('sha256').update(roomId).update('\0').update(eventJson).digest('hex').slice(0, 32)}`;

/**
 * Matrix client-server API: `PUT <homeserver>/_matrix/client/v3/rooms/<room id>/send/m.room.message/<txnId>`
 * with `Authorization: Bearer <access token>` and `{"msgtype": "m.text", "body": …}` as JSON.
 */
export const matrixTransport: Transport = {
  async send(config, secrets, event, o) {
    if (!secrets.access_token) throw new DeliveryError('no access token is stored: edit the channel and enter it');
    const room = String(config.room_id);
    const url = `${trimBase(config.homeserver)}/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/${txnIdOf(room, JSON.stringify(event))}`;
    const status = await sendHttp(o, secrets, {
      service: 'Matrix', url, field: 'config.homeserver', method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secrets.access_token}` },
      body: JSON.stringify({ msgtype: 'm.text', body: textOf(config, event, '{{title}}\n\n{{body}}') }),
    });
    return `Matrix accepted the message (HTTP ${status})`;
  },
};
