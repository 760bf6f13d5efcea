import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';
import type { Role } from '@restic-manager/protocol';

/** Header the server's CSRF middleware reads on state-changing requests. */
export const CSRF_HEADER = 'X-CSRF-Token';

export interface Viewer {
  username: string;
  role: Role;
  csrfToken: string;
  /** Limited to host tags (issue 21): fleet-wide pages are left out of the navigation. */
  scoped?: true;
}

/** Standards mode (without it browsers render in quirks mode). */
const DOCTYPE = raw('<!DOCTYPE html>');

export type NavId = 'dashboard' | 'jobs' | 'repos' | 'alerts' | 'audit' | 'settings' | 'hosts' | 'queue';

const NAV: { id: NavId; label: string; href: string; admin?: boolean }[] = [
  { id: 'dashboard', label: 'Dashboard', href: '/' },
  { id: 'jobs', label: 'Jobs', href: '/jobs' },
  { id: 'queue', label: 'Queue', href: '/queue' },
  { id: 'repos', label: 'Repositories', href: '/repositories' },
  { id: 'alerts', label: 'Alerts', href: '/alerts' },
  { id: 'audit', label: 'Audit log', href: '/audit', admin: true },
  { id: 'settings', label: 'Settings', href: '/settings' },
];

export const canOperate = (v: Viewer): boolean => v.role === 'admin' || v.role === 'operator';
export const isAdmin = (v: Viewer): boolean => v.role === 'admin';

function Head(props: { title: string }) {
  return (
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="color-scheme" content="light dark" />
      <meta name="htmx-config" content='{"includeIndicatorStyles":false,"historyCacheSize":0,"refreshOnHistoryMiss":true}' />
      <title>{props.title} · restic-manager</title>
      <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
      <link rel="stylesheet" href="/static/app.css" />
      <script src="/static/htmx.min.js" defer></script>
      <script src="/static/app.js" defer></script>
    </head>
  );
}

export const Brand = () => (
  <a class="brand" href="/">
    <span class="brand-mark" aria-hidden="true">r</span>
    <span>restic-manager</span>
  </a>
);

/** The page frame for signed-in users: skip link, top bar with navigation, main, toast region. */
export function Layout(props: { title: string; viewer: Viewer; active: NavId; openAlerts?: number; children: Child }) {
  const v = props.viewer;
  return (
    <>
    {DOCTYPE}
    <html lang="en">
      <Head title={props.title} />
      <body hx-headers={JSON.stringify({ [CSRF_HEADER]: v.csrfToken })}>
        <a class="skip-link" href="#main">Skip to content</a>
        <header class="topbar">
          <div class="topbar-inner">
            <Brand />
            <nav class="nav" aria-label="Main">
              {NAV.filter((n) => (!n.admin || v.role === 'admin') && !(v.scoped && n.id === 'repos')).map((n) => (
                <a href={n.href} aria-current={n.id === props.active ? 'page' : undefined}>
                  {n.label}
                  {n.id === 'alerts' && props.openAlerts ? <span class="badge danger plain count">{props.openAlerts}</span> : null}
                </a>
              ))}
            </nav>
            <div class="user-menu">
              <span class="who" title={`Signed in as ${v.username} (${v.role})`}>
                {v.username} <span class="tag">{v.role}</span>
              </span>
              <form method="post" action="/logout">
                <input type="hidden" name="_csrf" value={v.csrfToken} />
                <button class="btn small" type="submit">Sign out</button>
              </form>
            </div>
          </div>
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
        <div id="toasts" class="toasts" aria-live="polite"></div>
      </body>
    </html>
    </>
  );
}

/** Frame for pages without a session (login). */
export function BareLayout(props: { title: string; children: Child }) {
  return (
    <>
    {DOCTYPE}
    <html lang="en">
      <Head title={props.title} />
      <body>
        <main id="main" class="login-wrap">{props.children}</main>
        <div id="toasts" class="toasts" aria-live="polite"></div>
      </body>
    </html>
    </>
  );
}

export function PageHead(props: { title: Child; sub?: Child; crumbs?: { label: string; href: string }[]; actions?: Child }) {
  return (
    <div class="page-head">
      <div>
        {props.crumbs ? (
          <div class="breadcrumb">
            {props.crumbs.map((c, i) => (
              <>
                {i > 0 ? ' / ' : ''}
                <a href={c.href}>{c.label}</a>
              </>
            ))}
          </div>
        ) : null}
        <h1>{props.title}</h1>
        {props.sub ? <div class="sub">{props.sub}</div> : null}
      </div>
      {props.actions ? <div class="actions">{props.actions}</div> : null}
    </div>
  );
}
