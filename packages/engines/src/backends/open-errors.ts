import type { RepoTestErrorKind } from '@restic-manager/protocol';
import type { EngineError } from '../types.js';

export type OpenErrorKind = Exclude<RepoTestErrorKind, 'no_agent'>;

/**
 * Why opening a repository failed, from restic's (and ssh's, rclone's) own words. Checked in
 * this order: the first rule that matches wins, so a host-key or TLS failure is never reported
 * as merely unreachable, a missing bucket never as a missing repository, and a refused
 * connection never as a missing repository (restic words both "unable to open config file").
 */
const RULES: [OpenErrorKind, RegExp][] = [
  ['host_key_mismatch', /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known|host key for .* has changed/i],
  ['tls', /x509:|certificate signed by unknown authority|tls: |TLS handshake|certificate is not valid|server gave HTTP response to HTTPS client/i],
  ['wrong_password', /wrong password or no key found|no suitable key found/i],
  [
    'wrong_credentials',
    /Permission denied \(|InvalidAccessKeyId|SignatureDoesNotMatch|Access Denied|AccessDenied|AuthorizationFailure|AuthenticationFailed|\b401 Unauthorized|\b403 Forbidden|unauthorized|bad_auth_token|invalid credentials|Unable to authorize|could not find default credentials|The AWS Access Key Id/i,
  ],
  ['unknown_bucket', /NoSuchBucket|bucket does not exist|bucket (?:\S+ )?not found|ContainerNotFound|container does not exist|storage bucket doesn't exist/i],
  [
    'unreachable',
    /connection refused|no route to host|network is unreachable|no such host|could not resolve hostname|i\/o timeout|timed out|connection reset|ssh command exited|Connection closed by|Temporary failure in name resolution/i,
  ],
  [
    'not_initialised',
    /Is there a repository at the following location|unable to open config file|config file (?:does not exist|not found)|repository does not exist|does not exist|no such file or directory/i,
  ],
];

/** The open-failure kind of a failed `cat config` / `snapshots` run. */
export function openErrorKind(e: EngineError): OpenErrorKind {
  if (e.kind === 'timeout') return 'unreachable';
  const text = [...e.stderrTail, e.message].join('\n');
  for (const [kind, re] of RULES) if (re.test(text)) return kind;
  if (e.kind === 'wrong_password') return 'wrong_password';
  if (e.kind === 'no_repository') return 'not_initialised';
  return 'failed';
}
