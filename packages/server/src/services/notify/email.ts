import nodemailer from 'nodemailer';
import type { ChannelSecrets, Transport } from './types.js';
import { DeliveryError, redact } from './types.js';
import { textOf, titleOf } from './message.js';

/** A readable reason from a nodemailer error: `SMTP authentication failed (EAUTH): 535 …`. */
function smtpReason(e: unknown, target: string): string {
  const err = e as { code?: string; message?: string; response?: string };
  const what = err.code === 'EAUTH' ? 'SMTP authentication failed' : err.code === 'ECONNECTION' || err.code === 'ESOCKET' || err.code === 'ETIMEDOUT' || err.code === 'EDNS' ? `cannot reach SMTP server ${target}` : 'SMTP delivery failed';
  return `${what}${err.code ? ` (${err.code})` : ''}: ${err.message ?? String(e)}`;
}

/**
 * E-mail over SMTP (nodemailer): subject = titleOf, plain-text body = bodyOf, to every
 * recipient. TLS: `tls` = implicit TLS, `starttls` = STARTTLS required, `none` = plain.
 * Authenticates when a username is set. One connection per message (alerts are rare).
 */
export const emailTransport: Transport = {
  async send(config, secrets: ChannelSecrets, event, o) {
    const host = String(config.host);
    const port = Number(config.port);
    const tls = String(config.tls);
    const username = typeof config.username === 'string' && config.username ? config.username : null;
    const transport = nodemailer.createTransport({
      host, port, secure: tls === 'tls', requireTLS: tls === 'starttls', ignoreTLS: tls === 'none',
      ...(username ? { auth: { user: username, pass: secrets.password ?? '' } } : {}),
      connectionTimeout: o.timeoutMs, greetingTimeout: o.timeoutMs, socketTimeout: o.timeoutMs * 2,
      disableFileAccess: true, disableUrlAccess: true, logger: false, debug: false,
    });
    try {
      const info = await transport.sendMail({ from: String(config.from), to: (config.to as string[]).join(', '), subject: titleOf(event), text: textOf(config, event, '{{body}}') });
      return `accepted by ${host}:${port}: ${info.response}`;
    } catch (e) {
      throw new DeliveryError(redact(smtpReason(e, `${host}:${port}`), secrets));
    } finally {
      transport.close();
    }
  },
};
