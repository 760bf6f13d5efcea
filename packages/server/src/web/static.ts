import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import type { AppEnv } from '../http/auth.middleware.js';

/*
 * Serves the UI's assets from the server itself (no CDN): packages/server/static/* and htmx
 * from the htmx.org npm package. Files are read once at mount; responses carry an ETag.
 */

const STATIC_DIR = fileURLToPath(new URL('../../static/', import.meta.url));

const TYPES: Record<string, string> = {
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
};

function htmxPath(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('htmx.org/dist/htmx.min.js');
}

export function mountStatic(app: Hono<AppEnv>): void {
  const files = new Map<string, { body: Buffer; type: string; etag: string }>();
  const add = (name: string, file: string) => {
    const body = readFileSync(file);
    const ext = name.slice(name.lastIndexOf('.') + 1);
    files.set(name, { body, type: TYPES[ext] ?? 'application/octet-stream', etag: `"${body.length.toString(16)}-${hash(body)}"` });
  };
  for (const name of ['app.css', 'app.js', 'favicon.svg']) add(name, STATIC_DIR + name);
  add('htmx.min.js', htmxPath());

  app.get('/static/:name', (c) => {
    const f = files.get(c.req.param('name'));
    if (!f) return c.text('not found', 404);
    if (c.req.header('if-none-match') === f.etag) return c.body(null, 304);
    return c.body(new Uint8Array(f.body), 200, { 'content-type': f.type, etag: f.etag, 'cache-control': 'no-cache' });
  });
}

function hash(b: Buffer): string {
  let h = 2166136261;
  for (const byte of b) h = Math.imul(h ^ byte, 16777619) >>> 0;
  return h.toString(16);
}
