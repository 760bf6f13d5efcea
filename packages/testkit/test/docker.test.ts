import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDocker, rootfsTarball, startDockerEngine, tempDir } from '../src/index.js';
import type { DockerEngine, TempDir } from '../src/index.js';

/*
 * The private Docker engine helper: it starts on its own socket, an image is made from a local
 * root-filesystem tarball (node and its libraries, no registry), and a container on the host
 * network reaches a server on this machine's loopback, as a non-root user with a read-only root.
 */

const found = findDocker();
if (!found.ok) console.warn(`skipping private dockerd test: ${found.reason}`);

describe.skipIf(!found.ok)('startDockerEngine + rootfsTarball', () => {
  let d: DockerEngine | null = null;
  let t: TempDir;
  let startError = '';
  beforeAll(async () => {
    t = await tempDir('rm-docker-test-');
    const started = await startDockerEngine();
    if (started.ok) d = started.value;
    else {
      startError = started.reason;
      console.warn(`skipping: the private dockerd could not start here: ${startError.slice(0, 300)}`);
    }
  }, 120_000);
  afterAll(async () => {
    await d?.stop();
    await t?.cleanup();
  });

  it('imports a node rootfs and runs it on the host network as a non-root user with a read-only root', async (ctx) => {
    if (!d) return ctx.skip();
    const tar = path.join(t.path, 'rootfs.tar');
    rootfsTarball(tar, [process.execPath], [], { app: 10001 });
    const imp = await d.run(['import', tar, 'rm-test-node:1']);
    expect(imp.code, imp.err).toBe(0);
    const srv = http.createServer((_req, res) => res.end('hello from the host'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as AddressInfo).port;
      const code = `fetch('http://127.0.0.1:${port}/').then(r=>r.text()).then(b=>console.log(process.getuid(), b))`;
      const run = await d.run(['run', '--rm', '--network', 'host', '--read-only', '--user', '10001:10001', 'rm-test-node:1', process.execPath, '-e', code], { timeoutMs: 120_000 });
      expect(run.code, `${run.err}\n${d.log().slice(-500)}`).toBe(0);
      expect(run.out.trim()).toBe('10001 hello from the host');
    } finally {
      srv.close();
    }
  });
});
