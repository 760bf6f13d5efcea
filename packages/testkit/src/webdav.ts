import { execFile, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { listenOnFreePort, stopOnce } from './process.js';
import { writeHtpasswd } from './rest.js';
import { tempDir } from './temp.js';

export interface WebdavServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  user: string;
  password: string;
  /** The password as rclone.conf wants it (`rclone obscure`). */
  obscuredPassword: string;
  /** Directory served. */
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * A real WebDAV server: `rclone serve webdav --htpasswd FILE` on a free loopback port, serving
 * a fresh directory that `stop()` removes. For restic's `rclone:` backend through a `webdav` remote.
 */
export async function startWebdavServer(user = 'dav', password = 'dav-pass-5e7b1c9d'): Promise<WebdavServer> {
  const dir = await tempDir('rm-webdav-');
  try {
    const dataDir = path.join(dir.path, 'data');
    await mkdir(dataDir);
    const htpasswd = path.join(dir.path, 'htpasswd');
    await writeHtpasswd(htpasswd, { [user]: password });
    // `rclone obscure -` reads the password from stdin, so it never shows in argv.
    const obscured = await new Promise<string>((resolve, reject) => {
      const c = execFile('rclone', ['obscure', '-'], (err, out) => (err ? reject(err) : resolve(out.trim())));
      c.stdin?.end(`${password}\n`);
    });
    const { child, port } = await listenOnFreePort('rclone serve webdav', (port) => spawn('rclone', ['serve', 'webdav', '--addr', `127.0.0.1:${port}`, '--htpasswd', htpasswd, dataDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, RCLONE_CONFIG: path.join(dir.path, 'rclone.conf') },
    }));
    return {
      url: `http://127.0.0.1:${port}`, user, password, obscuredPassword: obscured, dataDir,
      stop: stopOnce(child, dir),
    };
  } catch (err) {
    await dir.cleanup();
    throw err;
  }
}
