import type { EngineError, EngineErrorKind } from './types.js';
import type { RunOutcome } from './runner.js';

/**
 * Message patterns for engines that exit 1 for everything (restic <= 0.16, rustic).
 * Checked against the redacted stderr tail, newest line first.
 */
const PATTERNS: [EngineErrorKind, RegExp][] = [
  ['wrong_password', /wrong password or no key found|incorrect password|no suitable key found|password is not correct|wrong password/i],
  ['lock_failed', /repository is already locked|unable to create lock|already locked|failed to lock|unable to acquire lock/i],
  [
    'no_repository',
    /Is there a repository at the following location|No repository config file found|repository does not exist|unable to open config file|config file (?:does not exist|not found)|No such file or directory.*config|bucket does not exist|NoSuchBucket|no repository|not a valid repository|repository.*not found|config.*does not exist/i,
  ],
];

/** Exit codes restic >= 0.17 documents (doc/075_scripting.rst), also used by our classifier. */
const EXIT_KINDS: Record<number, EngineErrorKind> = {
  3: 'partial',
  10: 'no_repository',
  11: 'lock_failed',
  12: 'wrong_password',
  130: 'interrupted',
};

/** Lines that say nothing useful on their own; the one-line message skips them. */
const NOISE = /^(?:using temporary cache|create exclusive lock|load indexes|check all packs|check snapshots|repository [0-9a-f]+ opened|created new cache|unable to open cache|enter password|\[\d+:\d+\]|the `unlock` command|lock was created at|storage ID)/i;

export function kindFromText(text: string): EngineErrorKind | undefined {
  for (const [kind, re] of PATTERNS) if (re.test(text)) return kind;
  return undefined;
}

/** Go stack-trace lines (restic prints one after some fatal errors): tab-indented file:line or a bare function name. */
const STACK = /^(?:\t|\s+\S+\.go:\d+|[\w.\-/]+(?:\.\(\*?\w+\))?\.[\w.]+$|goroutine \d+)/;

/** Picks the line a person can act on: the last Fatal:/error line, else the last line that is neither noise nor stack trace. */
export function pickMessage(lines: string[]): string {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]?.trim() ?? '';
    if (/^(?:Fatal|error|Error|\[ERROR\])/.test(l)) return l;
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    const raw = lines[i] ?? '';
    const l = raw.trim();
    if (l && !NOISE.test(l) && !STACK.test(raw) && !/^{"message_type"/.test(l)) return l;
  }
  return lines.at(-1)?.trim() ?? '';
}

/**
 * Turns a finished run into an EngineError, or undefined for success (exit 0).
 * Precedence: not started > timeout > abort > exit-code table > message patterns > failed.
 */
export function classify(command: string, run: RunOutcome, binary: string): EngineError | undefined {
  const base = { command, exitCode: run.exitCode, stderrTail: run.stderrTail };
  if (run.spawnError !== undefined) {
    return { ...base, kind: 'not_installed', message: `${binary} could not be started: ${run.spawnError}` };
  }
  if (run.timedOut) return { ...base, kind: 'timeout', message: `${command} timed out after ${Math.round(run.durationMs / 1000)} s and was stopped` };
  if (run.aborted) return { ...base, kind: 'interrupted', message: `${command} was cancelled` };
  if (run.exitCode === 0) return undefined;
  const text = run.stderrTail.join('\n');
  const kind: EngineErrorKind = (run.exitCode !== null ? EXIT_KINDS[run.exitCode] : undefined) ?? kindFromText(text) ?? 'failed';
  // Killed by a signal nobody here sent (not aborted): the OOM killer, an operator's kill -9. It
  // failed and says so; 'interrupted' would report it as cancelled (robustness harness, issue 22).
  const killed = run.signal && kind === 'failed' ? `${command} was killed by ${run.signal}` : '';
  const picked = pickMessage(run.stderrTail);
  const message = killed ? (picked ? `${killed}: ${picked}` : killed) : picked || `${command} exited ${String(run.exitCode)}`;
  const err: EngineError = { ...base, kind, message };
  if (kind === 'lock_failed') {
    const holder = /locked (?:exclusively )?by (PID \d+ on \S+ by [^\n]+?)(?:\s*$|\n)/m.exec(text)?.[1];
    if (holder) err.lockHolder = holder.trim();
  }
  return err;
}

/** An error made by the library itself (bad request, missing summary, unparsable output). */
export function libraryError(command: string, kind: EngineErrorKind, message: string, stderrTail: string[] = [], exitCode: number | null = null): EngineError {
  return { kind, command, exitCode, message, stderrTail };
}
