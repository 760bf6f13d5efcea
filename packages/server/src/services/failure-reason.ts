/** Longest reason quoted in an alert (characters; longer ones end in "…"). */
export const REASON_MAX = 300;

/** A line restic (and the agent) write when something failed: preferred over context lines. */
const ERROR_LINE = /^(?:Fatal|error|Error|ERROR|\[ERROR\])\b/;

/**
 * The last meaningful line of a failed job, as an alert quotes it: the job's `error` text (the
 * agent's classified message, secrets already redacted; its first line is the summary, later
 * lines detail), else from its stderr log (`stderrNewestFirst`: payloads, newest first) the last
 * line that reads as an error ("Fatal: …", "error: …"), else the last non-empty one. Whitespace
 * is collapsed and the result bounded to REASON_MAX characters; '' when there is no line at all.
 */
export function lastMeaningfulLine(error: string | null | undefined, stderrNewestFirst: readonly string[] = []): string {
  const stderr = () => [...stderrNewestFirst].reverse().flatMap(linesOf);
  const line = linesOf(error ?? '')[0] ?? pick(stderr()) ?? '';
  return line.length > REASON_MAX ? `${line.slice(0, REASON_MAX - 1)}…` : line;
}

function linesOf(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.replace(/\s+/g, ' ').trim()).filter(Boolean);
}

function pick(lines: readonly string[]): string | undefined {
  return lines.findLast((l) => ERROR_LINE.test(l)) ?? lines.at(-1);
}
