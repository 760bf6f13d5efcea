import type { Child } from 'hono/jsx';
import { exactTime, relativeTime } from './format.js';

/* Small presentational components. Every one is a pure function of its props. */

type Tone = 'ok' | 'warn' | 'danger' | 'info' | 'neutral';

const HOST_TONE: Record<string, Tone> = { online: 'ok', degraded: 'warn', offline: 'danger', pending: 'neutral' };
const JOB_TONE: Record<string, Tone> = { succeeded: 'ok', failed: 'danger', cancelled: 'warn', running: 'info', queued: 'neutral' };
const SEVERITY_TONE: Record<string, Tone> = { critical: 'danger', warning: 'warn', info: 'info' };

export function Badge(props: { tone: Tone; children: Child; plain?: boolean; running?: boolean; title?: string }) {
  const cls = ['badge', props.tone === 'neutral' ? '' : props.tone, props.plain ? 'plain' : '', props.running ? 'running' : ''].filter(Boolean).join(' ');
  return <span class={cls} title={props.title}>{props.children}</span>;
}

export const HostStatusBadge = (p: { status: string }) => <Badge tone={HOST_TONE[p.status] ?? 'neutral'}>{p.status}</Badge>;

/** A succeeded job that has something to say (unreadable files, skipped sockets). */
export const withWarnings = (status: string | null, errorKind?: string | null): boolean => status === 'succeeded' && errorKind === 'partial';

/** A job's status; a succeeded job whose error kind is `partial` reads "succeeded with warnings". */
export const JobStatusBadge = (p: { status: string | null; errorKind?: string | null }) =>
  p.status ? (
    <Badge tone={withWarnings(p.status, p.errorKind) ? 'warn' : JOB_TONE[p.status] ?? 'neutral'} running={p.status === 'running'}>
      <span data-job-status={p.status}>{withWarnings(p.status, p.errorKind) ? 'succeeded with warnings' : p.status}</span>
    </Badge>
  ) : (
    <span class="faint">—</span>
  );

export const SeverityBadge = (p: { severity: string }) => <Badge tone={SEVERITY_TONE[p.severity] ?? 'neutral'}>{p.severity}</Badge>;

/** `<time>` with a relative text, the exact time on hover, refreshed client-side every 30 s. */
export function RelTime(props: { iso: string | null | undefined; empty?: string }) {
  if (!props.iso) return <span class="faint">{props.empty ?? 'never'}</span>;
  return (
    <time datetime={props.iso} title={exactTime(props.iso)} data-rel>
      {relativeTime(props.iso)}
    </time>
  );
}

export const Tags = (p: { tags: readonly string[] }) => (
  <>
    {p.tags.map((t) => (
      <span class="tag">{t}</span>
    ))}
  </>
);

export function Empty(props: { title: string; children?: Child }) {
  return (
    <div class="empty">
      <div class="title">{props.title}</div>
      {props.children}
    </div>
  );
}

/** "Showing 1–50 of 1,204" with previous/next links that keep the other query parameters. */
export function Pager(props: { total: number; limit: number; offset: number; href: (offset: number) => string; target?: string }) {
  const { total, limit, offset } = props;
  if (total <= limit && offset === 0) return <div class="pager"><span>{total.toLocaleString('en-US')} total</span></div>;
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  const prev = offset > 0 ? props.href(Math.max(0, offset - limit)) : null;
  const next = offset + limit < total ? props.href(offset + limit) : null;
  const hx = (href: string) => (props.target ? { 'hx-get': href, 'hx-target': props.target, 'hx-swap': 'outerHTML', 'hx-push-url': 'true' } : {});
  return (
    <nav class="pager" aria-label="Pagination">
      <span>
        Showing {from.toLocaleString('en-US')}–{to.toLocaleString('en-US')} of {total.toLocaleString('en-US')}
      </span>
      <span class="links">
        {prev != null ? <a class="btn small" href={prev} rel="prev" {...hx(prev)}>← Previous</a> : <span class="btn small" aria-disabled="true" style="opacity:.45">← Previous</span>}
        {next != null ? <a class="btn small" href={next} rel="next" {...hx(next)}>Next →</a> : <span class="btn small" aria-disabled="true" style="opacity:.45">Next →</span>}
      </span>
    </nav>
  );
}

export function Tabs(props: { tabs: { id: string; label: string; href: string }[]; active: string }) {
  return (
    <nav class="tabs" aria-label="Sections">
      {props.tabs.map((t) => (
        <a href={t.href} aria-current={t.id === props.active ? 'page' : undefined} id={`tab-${t.id}`}>
          {t.label}
        </a>
      ))}
    </nav>
  );
}

export function ProgressBar(props: { fraction: number; tone?: 'ok' | 'danger'; label: string }) {
  const pct = Math.max(0, Math.min(100, Math.round(props.fraction * 1000) / 10));
  return (
    <div class={`progress ${props.tone ?? ''}`} role="progressbar" aria-label={props.label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
      <span data-progress-bar style={`width:${pct}%`}></span>
    </div>
  );
}

/** A labelled form field with a hint and a slot that app.js fills with the server's field error. */
export function Field(props: { name: string; label: string; hint?: string; error?: string; children: Child }) {
  return (
    <div class="field">
      <label for={`f-${props.name}`}>{props.label}</label>
      {props.children}
      {props.hint ? <div class="hint">{props.hint}</div> : null}
      <div class="error" data-field-error={props.name} hidden={!props.error} role="alert">
        {props.error ?? ''}
      </div>
    </div>
  );
}

/** Monospace block with a copy button (the text is what gets copied). */
export function CodeBlock(props: { id: string; text: string }) {
  return (
    <div style="position:relative">
      <pre class="codeblock" id={props.id}>{props.text}</pre>
      <button type="button" class="btn small copy" data-copy={props.id}>Copy</button>
    </div>
  );
}

/** Hidden CSRF field for plain (non-HTMX) form posts; HTMX requests carry the header from <body hx-headers>. */
export const CsrfField = (p: { token: string }) => <input type="hidden" name="_csrf" value={p.token} />;

export function StatCard(props: { label: string; value: Child; detail?: Child; href?: string }) {
  return (
    <div class="card stat">
      <div class="label">{props.label}</div>
      <div class="value">{props.href ? <a href={props.href} style="color:inherit">{props.value}</a> : props.value}</div>
      {props.detail ? <div class="detail">{props.detail}</div> : null}
    </div>
  );
}

/** A list filter's select with a visually hidden label: `all` (the value "") first, then each of `options`. */
export function FilterSelect(props: { id: string; name: string; label: string; all: string; options: readonly string[]; selected: string | undefined }) {
  return (
    <>
      <label class="sr-only" for={props.id}>{props.label}</label>
      <select id={props.id} name={props.name}>
        <option value="">{props.all}</option>
        {props.options.map((o) => <option value={o} selected={props.selected === o}>{o}</option>)}
      </select>
    </>
  );
}

/** Builds `path?k=v` from the non-empty entries of `params`. */
export function withQuery(path: string, params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
