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
 * The OS's reason, when there is one, is only in a `Caused by:` block after it ("No space left
 * on device (os error 28)" under "Failed to write to the buffer: …"): it is added in brackets.
 * `classify` already picked the kind from the whole text (the kinds' patterns match these lines).
 */
export function refineRusticError(e: EngineError): EngineError {
  const lines = e.stderrTail.map((l) => l.trim());
  const after = (heading: string): string | undefined => {
    const at = lines.indexOf(heading);
    return at === -1 ? undefined : lines.slice(at + 1).find((l) => l !== '');
  };
  const message = after('Message:');
  if (!message) return e;
  const cause = after('Caused by:');
  return { ...e, message: cause && !message.includes(cause) ? `${message} (caused by: ${cause})` : message };
}
