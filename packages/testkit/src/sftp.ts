import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { listenOnFreePort, stopOnce } from './process.js';
import { tempDir } from './temp.js';

const run = promisify(execFile);

export interface SftpServer {
  port: number;
  /** The user to log in as (the current user). */
  user: string;
  /** An unencrypted ed25519 private key (OpenSSH format) the server accepts. */
  privateKey: string;
  /** The server's known_hosts line: `[127.0.0.1]:PORT ssh-ed25519 …`. */
  knownHosts: string;
  /** A known_hosts line with the right name but another host key (a changed or spoofed server). */
  wrongKnownHosts: string;
  /** Directory the repositories go into. */
  dataDir: string;
  /** `sftp://user@127.0.0.1:PORT//<dataDir>/<name>` */
  repoUrl(name: string): string;
  stop(): Promise<void>;
}

async function keygen(file: string): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'restic-manager-test', '-f', file]);
}

/** Where sshd lives (Debian: /usr/sbin, often not on a user's PATH). */
export function sshdPath(): string | null {
  for (const p of ['/usr/sbin/sshd', '/usr/bin/sshd']) if (existsSync(p)) return p;
  return null;
}

/**
 * A real OpenSSH server on a free loopback port with its own host key and sshd_config: public
 * key login for the current user with a freshly generated ed25519 key, sftp via internal-sftp.
 * Running as root needs /run/sshd (sshd's privilege separation directory); it is created.
 */
export async function startSftpServer(): Promise<SftpServer> {
  const sshd = sshdPath();
  if (!sshd) throw new Error('sshd is not installed (Debian package openssh-server)');
  const dir = await tempDir('rm-sftp-');
  try {
    const hostKey = path.join(dir.path, 'host_ed25519');
    const otherHostKey = path.join(dir.path, 'other_host_ed25519');
    const clientKey = path.join(dir.path, 'client_ed25519');
    await Promise.all([keygen(hostKey), keygen(otherHostKey), keygen(clientKey)]);
    const authorized = path.join(dir.path, 'authorized_keys');
    await writeFile(authorized, await readFile(`${clientKey}.pub`), { mode: 0o600 });
    const dataDir = path.join(dir.path, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    const user = os.userInfo().username;
    const config = path.join(dir.path, 'sshd_config');
    const { child, port } = await listenOnFreePort('sshd', async (port) => {
      await writeFile(config, [
        `ListenAddress 127.0.0.1:${port}`, `HostKey ${hostKey}`, `PidFile ${path.join(dir.path, 'sshd.pid')}`,
        `AuthorizedKeysFile ${authorized}`, 'PubkeyAuthentication yes', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password', 'UsePAM no', 'StrictModes no', `AllowUsers ${user}`, 'Subsystem sftp internal-sftp', 'LogLevel VERBOSE', '',
      ].join('\n'), { mode: 0o600 });
      return spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    }, { tail: 8000 });
    const line = async (pub: string): Promise<string> => {
      const [type, key] = (await readFile(pub, 'utf8')).trim().split(/\s+/);
      return `[127.0.0.1]:${port} ${type} ${key}\n`;
    };
    return {
      port, user, dataDir,
      privateKey: await readFile(clientKey, 'utf8'),
      knownHosts: await line(`${hostKey}.pub`),
      wrongKnownHosts: await line(`${otherHostKey}.pub`),
      repoUrl: (name) => `sftp://${user}@127.0.0.1:${port}/${path.join(dataDir, name)}`,
      stop: stopOnce(child, dir),
    };
  } catch (err) {
    await dir.cleanup();
    throw err;
  }
}
