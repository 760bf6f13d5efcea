import type { Connection } from '../types.js';
import { BackendConfigError, type JobFiles } from './files.js';
import type { CredentialsOf } from './types.js';

export interface SftpTarget {
  user?: string;
  host: string;
  port?: number;
}

const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** A host name, IPv4 address or bracketed IPv6 address; never starting with '-' (it would be read as an ssh option). */
const HOST = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*|\[[0-9A-Fa-f:.]+\])$/;

/**
 * The user, host and port of a restic SFTP location: `sftp:user@host:/path` or
 * `sftp://user@host:port//path` (restic's two forms).
 */
export function sftpTarget(url: string): SftpTarget {
  let authority: string;
  if (url.startsWith('sftp://')) {
    authority = url.slice('sftp://'.length).split('/')[0] ?? '';
  } else {
    const rest = url.slice('sftp:'.length);
    const at = rest.indexOf('@');
    const hostStart = at >= 0 && at < rest.indexOf(':') ? at + 1 : 0;
    const hostEnd = rest[hostStart] === '[' ? rest.indexOf(']', hostStart) + 1 : rest.indexOf(':', hostStart);
    if (hostEnd <= hostStart) throw new BackendConfigError('url', 'an SFTP location is sftp:user@host:/path or sftp://user@host:port//path');
    authority = rest.slice(0, hostEnd);
  }
  const at = authority.lastIndexOf('@');
  const user = at >= 0 ? authority.slice(0, at) : undefined;
  let host = at >= 0 ? authority.slice(at + 1) : authority;
  let port: number | undefined;
  const m = /^(.*?):(\d+)$/.exec(host);
  if (m && (!host.startsWith('[') || m[1]!.endsWith(']'))) {
    host = m[1]!;
    port = Number(m[2]);
  }
  if (user !== undefined && !USER.test(user)) throw new BackendConfigError('url', 'the SFTP user name may hold letters, digits and _ . - only');
  if (!HOST.test(host)) throw new BackendConfigError('url', 'the SFTP host must be a host name or an IP address');
  if (port !== undefined && (port < 1 || port > 65_535)) throw new BackendConfigError('url', 'the SFTP port must be 1..65535');
  return { ...(user ? { user } : {}), host, ...(port ? { port } : {}) };
}

/** Quotes one word for restic's command-line splitter; a path with a quote in it is refused. */
function word(s: string): string {
  if (/^[A-Za-z0-9_./=:@,+-]+$/.test(s)) return s;
  if (s.includes("'") || s.includes('"') || s.includes('\\')) throw new Error(`cannot pass the path ${JSON.stringify(s)} to ssh`);
  return `'${s}'`;
}

/**
 * The private key and the server's known_hosts lines go into 0600 files; restic's ssh command
 * names only those files (argv never holds key material). Host keys are always checked against
 * exactly these lines (StrictHostKeyChecking=yes, no global file, no ~/.ssh/config).
 */
export async function sftpPart(url: string, c: CredentialsOf<'sftp'>, files: JobFiles): Promise<Partial<Connection>> {
  const t = sftpTarget(url);
  const key = await files.write('ssh-key', c.private_key.endsWith('\n') ? c.private_key : `${c.private_key}\n`);
  const knownHosts = await files.write('known_hosts', c.known_hosts.endsWith('\n') ? c.known_hosts : `${c.known_hosts}\n`);
  // ssh's own reasons (host key, refused login) go to this file, read back when restic fails.
  const log = await files.write('ssh.log', '');
  const port = c.port ?? t.port;
  const ssh = [
    'ssh', '-F', 'none', '-E', log, '-i', key,
    '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes', '-o', 'PasswordAuthentication=no',
    '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes',
    '-o', 'UpdateHostKeys=no', '-o', 'CheckHostIP=no', '-o', 'ConnectTimeout=20', '-o', 'ServerAliveInterval=30',
    ...(port ? ['-p', String(port)] : []), ...(t.user ? ['-l', t.user] : []),
    '-s', '--', t.host.replace(/^\[(.*)\]$/, '$1'), 'sftp',
  ];
  return { options: [`sftp.command=${ssh.map(word).join(' ')}`], secrets: [c.private_key], helperLogs: [log] };
}
