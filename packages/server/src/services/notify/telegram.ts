import { pathSafe, sendHttp, trimBase } from './http-send.js';
import { clip, textOf } from './message.js';
import type { Transport } from './types.js';

/**
 * Telegram Bot API: `POST <api_url>/bot<token>/sendMessage` with `{"chat_id", "text"}` as JSON
 * (plain text, no parse_mode, at most 4096 characters). `api_url` defaults to
 * https://api.telegram.org; the token sits in the path, so every error is redacted of it.
 */
export const telegramTransport: Transport = {
  async send(config, secrets, event, o) {
    const token = pathSafe(secrets.bot_token, 'bot token');
    const text = clip(textOf(config, event, '{{title}}\n\n{{body}}'), 4096);
    const status = await sendHttp(o, secrets, {
      service: 'Telegram', url: `${trimBase(config.api_url)}/bot${token}/sendMessage`, field: 'config.api_url', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chat_id: String(config.chat_id), text }),
    });
    return `Telegram accepted the message (HTTP ${status})`;
  },
};
