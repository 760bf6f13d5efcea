import type { Context } from 'hono';
import type { AppEnv } from '../../http/auth.middleware.js';
import { Layout, PageHead } from './layout.js';
import { Empty } from './ui.js';

/** A full HTML page for a missing object or a forbidden page (HTMX and API callers get JSON). */
export function ErrorPage(props: { c: Context<AppEnv>; title: string; message: string }) {
  const s = props.c.get('session');
  if (!s) return <p>{props.message}</p>;
  return (
    <Layout title={props.title} viewer={{ username: s.user.username, role: s.user.role, csrfToken: s.csrfToken }} active="dashboard">
      <PageHead title={props.title} />
      <div class="card">
        <Empty title={props.message}>
          <a href="/">Back to the dashboard</a>
        </Empty>
      </div>
    </Layout>
  );
}
