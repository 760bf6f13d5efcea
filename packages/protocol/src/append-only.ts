/**
 * Where a restic repository can be append-only (issue 22). Only a REST server enforces it: restic's
 * rest-server or `rclone serve restic`, started with `--append-only`, refuse deletes for the
 * repository's routine credential. A local path, SFTP, S3 and the other backends accept any
 * delete the host's credential asks for, so a flag there would only block forget/prune.
 */
export function appendOnlyEnforceable(url: string): boolean {
  return /^rest:/i.test(url.trim());
}

/**
 * The default of `repository.append_only`: on where it is enforceable and the way out for
 * forget/prune exists (a maintenance credential is a second REST user, so a REST user is set).
 */
export function appendOnlyDefault(url: string, restUsername: string | null | undefined): boolean {
  return appendOnlyEnforceable(url) && !!restUsername;
}

/** Why append_only=true is refused for a repository URL (the 400's field message). */
export const APPEND_ONLY_REFUSED =
  'append-only can only be enforced by a REST server (rest-server or rclone serve restic with --append-only); this repository would accept deletes anyway, and the flag would only block forget and prune: leave it off';
