import type { DatabaseTarget, DatabaseView } from '@restic-manager/protocol';

/** What the API and the audit log show of database targets: no password, only `has_password`. */
export function databaseViews(dbs: readonly DatabaseTarget[]): DatabaseView[] {
  return dbs.map(({ password, ...rest }) => ({ ...rest, has_password: typeof password === 'string' && password.length > 0 }));
}

const sameServer = (a: DatabaseTarget, b: DatabaseTarget): boolean =>
  a.engine === b.engine && a.host === b.host && a.port === b.port && a.user === b.user && a.container === b.container;

/**
 * An edited list keeps stored passwords the form could not show: an entry without a password
 * takes the stored one at the same position when it points at the same server as the same user.
 */
export function mergeDatabasePasswords(next: readonly DatabaseTarget[], stored: readonly DatabaseTarget[]): DatabaseTarget[] {
  return next.map((d, i) => {
    const old = stored[i];
    return d.password === undefined && old?.password !== undefined && sameServer(d, old) ? { ...d, password: old.password } : d;
  });
}
