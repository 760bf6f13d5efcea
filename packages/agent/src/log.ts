/**
 * A tiny structured logger: one JSON object per line on stderr (journald keeps it).
 * Every registered secret is replaced by `***` in messages and field values before writing,
 * so a password that slips into an error message never reaches the log.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Registers a value that must never be printed. Values shorter than 4 characters are ignored. */
  addSecret(value: string | undefined): void;
  redact(text: string): string;
}

export function createLogger(opts: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const min = ORDER[opts.level ?? (process.env.RM_AGENT_LOG_LEVEL as Level | undefined) ?? 'info'] ?? ORDER.info;
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const secrets = new Set<string>();
  const redact = (text: string): string => {
    let out = text;
    for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  };
  const log = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < min) return;
    const line = JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields });
    write(redact(line) + '\n');
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    addSecret: (v) => {
      if (v && v.length >= 4) secrets.add(v);
    },
    redact,
  };
}
