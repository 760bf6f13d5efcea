import { readFileSync } from 'node:fs';

/**
 * The server's version: the `version` of packages/server/package.json, read once at load (the
 * same file sits one level above both src/ and dist/). The one place the server's version comes from.
 */
export const SERVER_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
