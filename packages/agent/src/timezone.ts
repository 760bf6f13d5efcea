import fs from 'node:fs';

/**
 * Time zones without `Intl` where possible. The first `Intl.DateTimeFormat` call maps ICU's
 * locale and zone data (~7 MB of RSS that stays resident), a sixth of the idle agent's budget
 * (spec §4.2: <= 50 MB). The agent only needs the host's zone name for `hello` and a cron
 * evaluator for its schedules; both usually work from the operating system's own files.
 */

const UTC_NAMES: ReadonlySet<string> = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'UCT', 'Etc/UCT', 'Etc/Universal', 'Universal', 'Zulu', 'Etc/Zulu']);
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;

let cached: string | undefined;

/** The zone name a symlink such as /etc/localtime -> /usr/share/zoneinfo/Europe/Berlin names. */
export function zoneFromLink(target: string): string | null {
  const i = target.lastIndexOf('zoneinfo/');
  if (i < 0) return null;
  const name = target.slice(i + 'zoneinfo/'.length).replace(/^(posix|right)\//, '');
  return ZONE_NAME.test(name) ? name : null;
}

/** The zone as the OS configures it for this process, or null when only Intl can tell. */
function zoneFromOs(env: NodeJS.ProcessEnv, etc: string): string | null {
  // With TZ set, V8's local time follows TZ (possibly a POSIX rule string): ask Intl.
  if (env.TZ !== undefined) return null;
  try {
    const z = zoneFromLink(fs.readlinkSync(`${etc}/localtime`));
    if (z) return z;
  } catch {
    // not a symlink (a copied zone file) or missing: try the Debian-style name file
  }
  try {
    const z = fs.readFileSync(`${etc}/timezone`, 'utf8').trim();
    if (ZONE_NAME.test(z)) return z;
  } catch {
    // no name file either
  }
  return null;
}

/**
 * The host's IANA zone name (what `Intl.DateTimeFormat().resolvedOptions().timeZone` returns),
 * read from /etc/localtime or /etc/timezone; Intl is only consulted when TZ is set or neither
 * file names a zone. `etc` and `env` are injectable for tests; the default result is cached.
 */
export function localTimeZone(env: NodeJS.ProcessEnv = process.env, etc = '/etc'): string {
  const useCache = env === process.env && etc === '/etc';
  if (useCache && cached !== undefined) return cached;
  const z = zoneFromOs(env, etc) ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (useCache) cached = z;
  return z;
}

/**
 * croner options for a schedule's zone: none when the zone is absent or is the host's own
 * (croner then uses local Date methods), a fixed UTC offset for UTC aliases, and croner's
 * Intl-based `timezone` only for a genuinely foreign zone.
 */
export function cronZone(tz: string | undefined, local: () => string = localTimeZone): { timezone?: string; utcOffset?: number } {
  if (!tz) return {};
  if (UTC_NAMES.has(tz)) return { utcOffset: 0 };
  if (tz === local()) return {};
  return { timezone: tz };
}
