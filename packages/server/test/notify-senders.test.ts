import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTemplate } from '@restic-manager/protocol';
import { discordTransport } from '../src/services/notify/discord.js';
import { gotifyTransport } from '../src/services/notify/gotify.js';
import { matrixTransport } from '../src/services/notify/matrix.js';
import { ntfyTransport } from '../src/services/notify/ntfy.js';
import { pushoverTransport } from '../src/services/notify/pushover.js';
import { slackTransport } from '../src/services/notify/slack.js';
import { TargetGuard } from '../src/services/notify/target-guard.js';
import { telegramTransport } from '../src/services/notify/telegram.js';
import type { AlertEvent, ChannelSecrets, Transport } from '../src/services/notify/types.js';
import { DeliveryError } from '../src/services/notify/types.js';
import { webhookTransport } from '../src/services/notify/webhook.js';
import type { HttpReceiver, Received } from './helpers/receivers.js';
import { startHttpReceiver } from './helpers/receivers.js';

/*
 * One contract suite run against every HTTP sender (e-mail speaks SMTP: notifications.test.ts),
 * each against a loopback receiver, plus the request each real service documents: method, path,
 * headers and body. Contract: a 2xx resolves with a detail; a non-2xx is a DeliveryError naming
 * the status and never the answer's body; an unreachable address is a DeliveryError; without
 * RM_NOTIFY_ALLOW_PRIVATE a loopback target is refused before any byte is sent, naming the
 * field; a channel's template replaces the default text; no error ever holds a secret.
 */

const event: AlertEvent = {
  event: 'alert.raised', server_url: 'https://rm.example.org', sent_at: '2026-01-02T03:04:05.000Z',
  alert: { id: 'a1', kind: 'backup_failed', severity: 'critical', message: 'restic exited 1 <&> on host-a', host_id: 'h1', host_name: 'host-a', created_at: '2026-01-02T03:00:00.000Z', acknowledged_at: null, resolved_at: null },
};
const TITLE = '[restic-manager] CRITICAL backup_failed on host-a';
const TEMPLATE = '{{state}} {{kind}} @ {{host}}: {{message}}';
const RENDERED = 'RAISED backup_failed @ host-a: restic exited 1 <&> on host-a';

interface Case {
  name: string;
  transport: Transport;
  /** The channel's plain config and secrets pointing at `base`. */
  config(base: string): Record<string, unknown>;
  secrets(base: string): ChannelSecrets;
  /** The secret values that must never appear in an error (URL-borne secrets: the secret path part). */
  secretParts: string[];
  /** The field a guard refusal names. */
  field: string;
  /** The documented request shape. */
  check(r: Received): void;
  /** The message text as sent (for the template check). */
  text(r: Received): string;
}

const json = (r: Received): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>;

const CASES: Case[] = [
  {
    name: 'slack', transport: slackTransport, field: 'config.webhook_url', secretParts: ['T0SLACK/B0SLACK/slackSecretPath42'],
    config: () => ({}), secrets: (b) => ({ webhook_url: `${b}/services/T0SLACK/B0SLACK/slackSecretPath42` }),
    check(r) {
      expect(r.method).toBe('POST');
      expect(r.url).toBe('/services/T0SLACK/B0SLACK/slackSecretPath42');
      expect(r.headers['content-type']).toBe('application/json');
      // Slack: {"text": …} with &, < and > escaped in values (mrkdwn), the template's own markup kept.
      expect(Object.keys(json(r))).toEqual(['text']);
      expect(String(json(r).text)).toMatch(/^\*\[restic-manager\] CRITICAL backup_failed on host-a\*\n/);
      expect(String(json(r).text)).toContain('restic exited 1 &lt;&amp;&gt; on host-a');
    },
    text: (r) => String(json(r).text),
  },
  {
    name: 'discord', transport: discordTransport, field: 'config.webhook_url', secretParts: ['discordSecretToken_77'],
    config: () => ({}), secrets: (b) => ({ webhook_url: `${b}/api/webhooks/123456789/discordSecretToken_77` }),
    check(r) {
      expect(r.method).toBe('POST');
      expect(r.url).toBe('/api/webhooks/123456789/discordSecretToken_77');
      expect(r.headers['content-type']).toBe('application/json');
      const b = json(r);
      expect(Object.keys(b).sort()).toEqual(['allowed_mentions', 'content']);
      expect(b.allowed_mentions).toEqual({ parse: [] }); // no @everyone / role / user pings from alert text
      expect(String(b.content)).toMatch(/^\*\*\[restic-manager\] CRITICAL backup_failed on host-a\*\*\n/);
      expect(String(b.content).length).toBeLessThanOrEqual(2000);
    },
    text: (r) => String(json(r).content),
  },
  {
    name: 'telegram', transport: telegramTransport, field: 'config.api_url', secretParts: ['123456:TG-bot_Secret-Token'],
    config: (b) => ({ api_url: `${b}/`, chat_id: '-1001234567890' }), secrets: () => ({ bot_token: '123456:TG-bot_Secret-Token' }),
    check(r) {
      expect(r.method).toBe('POST');
      expect(r.url).toBe('/bot123456:TG-bot_Secret-Token/sendMessage');
      expect(r.headers['content-type']).toBe('application/json');
      const b = json(r);
      expect(Object.keys(b).sort()).toEqual(['chat_id', 'text']); // plain text: no parse_mode, so nothing needs escaping
      expect(b.chat_id).toBe('-1001234567890');
      expect(String(b.text)).toMatch(/^\[restic-manager\] CRITICAL backup_failed on host-a\n\n/);
    },
    text: (r) => String(json(r).text),
  },
  {
    name: 'gotify', transport: gotifyTransport, field: 'config.server', secretParts: ['gotifyAppTokenSecret9'],
    config: (b) => ({ server: `${b}/gotify/` }), secrets: () => ({ app_token: 'gotifyAppTokenSecret9' }),
    check(r) {
      expect(r.method).toBe('POST');
      expect(r.url).toBe('/gotify/message'); // the token is never in the query string
      expect(r.headers['x-gotify-key']).toBe('gotifyAppTokenSecret9');
      expect(r.headers['content-type']).toBe('application/json');
      const b = json(r);
      expect(b.title).toBe(TITLE);
      expect(b.priority).toBe(8);
      expect(String(b.message)).toContain('restic exited 1 <&> on host-a');
      expect(b.extras).toEqual({ 'client::display': { contentType: 'text/plain' }, 'client::notification': { click: { url: 'https://rm.example.org/alerts' } } });
    },
    text: (r) => String(json(r).message),
  },
  {
    name: 'pushover', transport: pushoverTransport, field: 'config.api_url', secretParts: ['pushoverAppToken0123', 'pushoverUserKey4567'],
    config: (b) => ({ api_url: b, device: 'phone' }), secrets: () => ({ app_token: 'pushoverAppToken0123', user_key: 'pushoverUserKey4567' }),
    check(r) {
      expect(r.method).toBe('POST');
      expect(r.url).toBe('/1/messages.json');
      expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
      const f = Object.fromEntries(new URLSearchParams(r.body));
      expect(f).toMatchObject({ token: 'pushoverAppToken0123', user: 'pushoverUserKey4567', title: TITLE, priority: '1', url: 'https://rm.example.org/alerts', url_title: 'Open alerts', device: 'phone' });
      expect(f.message!.length).toBeLessThanOrEqual(1024);
    },
    text: (r) => new URLSearchParams(r.body).get('message') ?? '',
  },
  {
    name: 'matrix', transport: matrixTransport, field: 'config.homeserver', secretParts: ['syt_matrixAccessToken_55'],
    config: (b) => ({ homeserver: b, room_id: '!roomAbc:example.org' }), secrets: () => ({ access_token: 'syt_matrixAccessToken_55' }),
    check(r) {
      expect(r.method).toBe('PUT');
      expect(r.url).toMatch(/^\/_matrix\/client\/v3\/rooms\/!roomAbc%3Aexample\.org\/send\/m\.room\.message\/rm-[0-9a-f]{32}$/);
      expect(r.headers.authorization).toBe('Bearer syt_matrixAccessToken_55');
      expect(r.headers['content-type']).toBe('application/json');
      const b = json(r);
      expect(b.msgtype).toBe('m.text');
      expect(String(b.body)).toMatch(/^\[restic-manager\] CRITICAL backup_failed on host-a\n\n/);
    },
    text: (r) => String(json(r).body),
  },
  {
    name: 'ntfy', transport: ntfyTransport, field: 'config.server', secretParts: ['tk_ntfyContractToken'],
    config: (b) => ({ server: b, topic: 'alerts' }), secrets: () => ({ token: 'tk_ntfyContractToken' }),
    check(r) {
      expect(r.method).toBe('POST');
      expect(r.url).toBe('/alerts');
      expect(r.headers.title).toBe(TITLE);
      expect(r.headers.authorization).toBe('Bearer tk_ntfyContractToken');
    },
    text: (r) => r.body,
  },
  {
    name: 'webhook', transport: webhookTransport, field: 'config.url', secretParts: ['whsecContractSecret'],
    config: (b) => ({ url: `${b}/hook` }), secrets: () => ({ secret: 'whsecContractSecret' }),
    check(r) {
      expect(r.method).toBe('POST');
      expect(r.url).toBe('/hook');
      expect(json(r)).toEqual(event); // the webhook sends the event itself: no template
    },
    text: () => RENDERED,
  },
];

describe('notification senders: one contract, every HTTP channel', () => {
  const open = new TargetGuard(true);
  const closed = new TargetGuard(false);
  let ok: HttpReceiver;
  let broken: HttpReceiver;
  let deadUrl = '';
  const opts = (guard: TargetGuard) => ({ timeoutMs: 3000, guard });

  beforeAll(async () => {
    ok = await startHttpReceiver(() => 200);
    broken = await startHttpReceiver(() => 500);
    const dead = await startHttpReceiver();
    deadUrl = dead.url;
    await dead.close(); // nothing listens there any more
  });
  afterAll(async () => {
    await ok.close();
    await broken.close();
  });

  const noSecret = (c: Case, text: string): void => {
    for (const s of [...c.secretParts, ...Object.values(c.secrets('http://127.0.0.1:1')).filter((v): v is string => !!v && !v.startsWith('http'))]) expect(text, `a secret of ${c.name}`).not.toContain(s);
  };

  for (const c of CASES) {
    describe(c.name, () => {
      it('a 2xx: resolves with a detail; the request is shaped as the service documents', async () => {
        const before = ok.requests.length;
        const detail = await c.transport.send(c.config(ok.url), c.secrets(ok.url), event, opts(open));
        expect(detail).toMatch(/HTTP 200/);
        expect(ok.requests).toHaveLength(before + 1);
        const r = ok.requests[before]!;
        expect(r.headers['user-agent']).toBe('restic-manager');
        c.check(r);
      });

      it('a non-2xx: a DeliveryError naming the status, never the answer’s body or a secret', async () => {
        const e = await c.transport.send(c.config(broken.url), c.secrets(broken.url), event, opts(open)).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(DeliveryError);
        expect((e as Error).message).toMatch(/HTTP 500/);
        expect((e as Error).message).not.toContain('receiver is broken');
        noSecret(c, (e as Error).message);
      });

      it('an unreachable address: a DeliveryError saying so, without a secret', async () => {
        const e = await c.transport.send(c.config(deadUrl), c.secrets(deadUrl), event, opts(open)).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(DeliveryError);
        expect((e as Error).message).toMatch(/cannot reach 127\.0\.0\.1:\d+/);
        noSecret(c, (e as Error).message);
      });

      it('without RM_NOTIFY_ALLOW_PRIVATE a loopback target is refused before anything is sent, naming the field', async () => {
        const before = ok.requests.length;
        const e = await c.transport.send(c.config(ok.url), c.secrets(ok.url), event, opts(closed)).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(DeliveryError);
        expect((e as Error).message).toContain(`${c.field}: 127.0.0.1 is a loopback address`);
        noSecret(c, (e as Error).message);
        expect(ok.requests).toHaveLength(before);
      });

      it('the channel’s template replaces the default text', async () => {
        const before = ok.requests.length;
        await c.transport.send({ ...c.config(ok.url), template: TEMPLATE }, c.secrets(ok.url), event, opts(open));
        const text = c.text(ok.requests[before]!);
        expect(text).toBe(c.name === 'slack' ? 'RAISED backup_failed @ host-a: restic exited 1 &lt;&amp;&gt; on host-a' : RENDERED);
      });
    });
  }

  it('matrix: every retry of one event carries the same transaction id (the homeserver de-duplicates); another event another', async () => {
    const cfg = { homeserver: ok.url, room_id: '!r:example.org' };
    const sec = { access_token: 'syt_x_token' };
    const before = ok.requests.length;
    await matrixTransport.send(cfg, sec, event, opts(open));
    await matrixTransport.send(cfg, sec, event, opts(open));
    await matrixTransport.send(cfg, sec, { ...event, event: 'alert.resolved' }, opts(open));
    const [a, b, c] = ok.requests.slice(before).map((r) => r.url);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(a).toContain(`rm-${createHash('sha256').update('!r:example.org').update('\0').update(JSON.stringify(event)).digest('hex').slice(0, 32)}`);
  });

  it('telegram: a stored token with characters a token never has is refused, not put in a URL', async () => {
    const e = await telegramTransport.send({ api_url: ok.url, chat_id: '1' }, { bot_token: '1:abc/../../x?y' }, event, opts(open)).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/bot token has characters/);
    expect((e as Error).message).not.toContain('abc/../');
  });

  it('discord and pushover cut long texts to the documented limits', async () => {
    const long = { ...event, alert: { ...event.alert, message: 'x'.repeat(5000) } };
    const before = ok.requests.length;
    await discordTransport.send({}, { webhook_url: `${ok.url}/api/webhooks/1/t` }, long, opts(open));
    await pushoverTransport.send({ api_url: ok.url }, { app_token: 'a1234', user_key: 'u1234' }, long, opts(open));
    const [d, p] = ok.requests.slice(before);
    expect([...String(json(d!).content)]).toHaveLength(2000);
    expect(String(json(d!).content).endsWith('…')).toBe(true);
    expect([...(new URLSearchParams(p!.body).get('message') ?? '')]).toHaveLength(1024);
  });
});

describe('message templates', () => {
  it('parses variables and text; refuses malformed ones with line and column', () => {
    expect(parseTemplate('a {{ kind }} b')).toEqual([{ text: 'a ' }, { variable: 'kind' }, { text: ' b' }]);
    const err = (src: string): string => {
      try {
        parseTemplate(src);
        return 'parsed';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(err('x {{kind')).toBe('“{{” is not closed by “}}” at line 1, column 3');
    expect(err('ok\n  {{ hostname }}')).toMatch(/^unknown variable “hostname” \(known: title, body, .*\) at line 2, column 3$/);
    expect(err('a }} b')).toBe('“}}” without an opening “{{” at line 1, column 3');
    expect(err('{{}}')).toBe('empty “{{ }}” at line 1, column 1');
    expect(err('{{ a b }}')).toBe('“{{ a b }}” is not a variable name at line 1, column 1');
    expect(err('{{ {{kind}} }}')).toBe('“{{” is not closed by “}}” at line 1, column 1');
  });
});
