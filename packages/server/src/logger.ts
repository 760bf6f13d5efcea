import pino from 'pino';
import type { Logger } from 'pino';

/**
 * Paths pino censors wherever they appear in a log object — a net under the rule that code
 * never logs secrets in the first place.
 */
const REDACT = [
  'password', '*.password', 'rest_password', '*.rest_password', 'token', '*.token', 'bearer', '*.bearer',
  'bearer_token', '*.bearer_token', 'authorization', '*.authorization', 'headers.authorization', 'headers.cookie',
  'cookie', '*.cookie', 'pre_hook', '*.pre_hook', 'post_hook', '*.post_hook', 'secret', '*.secret',
];

/** JSON lines to `dest` (stdout by default). */
export function createLogger(level: string, dest?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { svc: 'restic-manager-server' }, redact: { paths: REDACT, censor: '[redacted]' } }, (dest ?? process.stdout) as pino.DestinationStream);
}
