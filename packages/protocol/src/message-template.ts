import { z } from 'zod';

/*
 * Message templates of notification channels (docs/alerts.md "Message templates"): plain text
 * with `{{ variable }}` placeholders, nothing else (no logic, no filters). Parsed when a channel
 * is saved, so a malformed template is refused with its position; rendered by the server.
 */

/** The variables a template may use, with what each holds. */
export const TEMPLATE_VARIABLES = {
  title: 'the default title, e.g. “[restic-manager] CRITICAL backup_failed on host-a”',
  body: 'the default plain-text body (message, facts, link)',
  event: 'alert.raised, alert.resolved or test',
  state: 'RAISED, RESOLVED or TEST',
  severity: 'info, warning or critical',
  kind: 'the alert kind, e.g. backup_failed',
  message: 'the alert message',
  host: 'the host name, or “fleet”',
  raised_at: 'when the alert was raised (ISO 8601)',
  resolved_at: 'when it resolved (ISO 8601), or empty',
  url: 'the alerts page',
} as const;
export type TemplateVariable = keyof typeof TEMPLATE_VARIABLES;

/** A parsed template: literal text and variables in order. */
export type TemplatePart = { text: string } | { variable: TemplateVariable };

/** A malformed template: the message names the line and column (1-based) of the fault. */
export class TemplateError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${reason} at line ${line}, column ${column}`);
    this.name = 'TemplateError';
  }
}

const NAME = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/;

function position(src: string, index: number): { line: number; column: number } {
  const before = src.slice(0, index);
  const line = before.split('\n').length;
  return { line, column: index - before.lastIndexOf('\n') };
}

/** Parses a template; throws TemplateError for an unclosed `{{`, a stray `}}`, an empty or unknown variable. */
export function parseTemplate(src: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let i = 0;
  const fail = (reason: string, at: number): never => {
    const p = position(src, at);
    throw new TemplateError(reason, p.line, p.column);
  };
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    const close = src.indexOf('}}', i);
    if (close !== -1 && (open === -1 || close < open)) fail('“}}” without an opening “{{”', close);
    if (open === -1) {
      parts.push({ text: src.slice(i) });
      break;
    }
    if (open > i) parts.push({ text: src.slice(i, open) });
    const end = src.indexOf('}}', open + 2);
    const nextOpen = src.indexOf('{{', open + 2);
    if (end === -1 || (nextOpen !== -1 && nextOpen < end)) fail('“{{” is not closed by “}}”', open);
    const inner = src.slice(open + 2, end);
    const m = NAME.exec(inner);
    if (!m) fail(inner.trim() === '' ? 'empty “{{ }}”' : `“{{${inner}}}” is not a variable name`, open);
    const name = m![1]!;
    if (!(name in TEMPLATE_VARIABLES)) fail(`unknown variable “${name}” (known: ${Object.keys(TEMPLATE_VARIABLES).join(', ')})`, open);
    parts.push({ variable: name as TemplateVariable });
    i = end + 2;
  }
  return parts;
}

/** A channel's message template: at most 2000 characters, parsed on save (the error names line and column). */
export const MessageTemplate = z
  .string()
  .max(2000, 'a template is at most 2000 characters')
  .superRefine((src, ctx) => {
    try {
      parseTemplate(src);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      ctx.addIssue({ code: 'custom', message: e.message });
    }
  })
  .meta({ description: 'plain text with {{ variable }} placeholders: title, body, event, state, severity, kind, message, host, raised_at, resolved_at, url', examples: ['{{state}} {{kind}} on {{host}}: {{message}} — {{url}}'] });
