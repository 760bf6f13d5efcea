import type { Hono } from 'hono';
import { z } from 'zod';
import { WindowSetSchema } from '@restic-manager/protocol';
import type { AppEnv } from '../http/auth.middleware.js';
import { nest, opt, parseForm } from './forms.js';
import type { WebCtx } from './web-context.js';
import { actorOf, formOf, guard, redirectTo } from './web-context.js';
import { windowsFromForm, withBlackoutField } from './window-form.js';

/* Settings → Backup windows by host tag (issue 21): the same service calls as /api/tag-windows. */
const TagWindowsForm = z.object({ windows: WindowSetSchema });

export function mountTagWindowsUi(app: Hono<AppEnv>, w: WebCtx): void {
  const s = w.services;
  app.post('/settings/tag-windows', guard('admin'), async (c) => {
    const f = nest(await formOf(c));
    await withBlackoutField(async () => {
      const { windows } = parseForm(TagWindowsForm, { windows: windowsFromForm(f.windows) ?? { windows: [], blackouts: [] } });
      await s.tagWindows.put(actorOf(c), opt(f.tag) ?? '', windows);
    });
    return redirectTo(c, '/settings');
  });
  app.post('/settings/tag-windows/:tag/delete', guard('admin'), async (c) => {
    await s.tagWindows.delete(actorOf(c), c.req.param('tag'));
    return redirectTo(c, '/settings');
  });
}
