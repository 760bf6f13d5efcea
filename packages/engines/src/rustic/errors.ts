import type { EngineError } from '../types.js';

/**
 * rustic reports a failure as a block on stderr (rustic-rs 0.11.4, NO_COLOR=1, RUST_BACKTRACE=0):
 *
 *     error: `rustic_core` experienced an error related to `credentials handling`.
 *
 *     Message:
 *     The password that has been entered, seems to be incorrect. No suitable key found ...
 *
 *     For more information, see: https://rustic.cli.rs/docs/errors/C002
 *     ...
 *     Backtrace:
 *     disabled backtrace (set 'RUST_BACKTRACE="1"' environment variable to enable)
 *
 * The line after `Message:` is what a person can act on; the first line only names the area.
 * `classify` already picked the kind from the whole text (the kinds' patterns match these lines).
 */
export function refineRusticError(e: EngineError): EngineError {
  const at = e.stderrTail.findIndex((l) => l.trim() === 'Message:');
  if (at === -1) return e;
  const message = e.stderrTail.slice(at + 1).map((l) => l.trim()).find((l) => l !== '');
  return message ? { ...e, message } : e;
}
