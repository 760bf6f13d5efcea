import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X25519Identity } from '@restic-manager/vault';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import { runVaultJobInProcess, vaultChildExecArgv } from '../src/jobs/vault-process.js';
import type { VaultRunContext } from '../src/jobs/vault-run.js';

const distProcess = fileURLToPath(new URL('../dist/jobs/vault-process.js', import.meta.url));

describe('vault jobs run in a process of their own', () => {
  let t: TempDir;
  let src: string;
  const recipient = X25519Identity.generate().recipient.toString();
  const ctx = (over: Partial<VaultRunContext> & { repo: string }): VaultRunContext & { lines: string[] } => {
    const lines: string[] = [];
    return {
      kind: 'vault_backup', args: { paths: [src] }, target: { storage: { type: 'local', path: over.repo }, age_recipient: recipient },
      signal: new AbortController().signal, indexDir: path.join(t.path, 'index'),
      line: (_s, text) => lines.push(text), progress: () => undefined, lines, ...over,
    };
  };
  beforeAll(async () => {
    t = await tempDir('rm-vault-process-');
    src = path.join(t.path, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.txt'), 'vault process\n'.repeat(1000));
    fs.writeFileSync(path.join(src, 'big.bin'), randomBytes(24 * 1024 * 1024));
  });
  afterAll(async () => t?.cleanup());

  it('drops only the flags that switch off the JIT and WebAssembly', () => {
    expect(vaultChildExecArgv(['--jitless', '--no-expose-wasm', '--enable-source-maps', '--max-old-space-size=64'])).toEqual(['--enable-source-maps', '--max-old-space-size=64']);
    // a parent started with -e/-p must not make every child run its script again (a fork loop)
    expect(vaultChildExecArgv(['--jitless', '--input-type=module', '-e', 'fork()', '--trace-warnings'])).toEqual(['--trace-warnings']);
    expect(vaultChildExecArgv(['--eval=fork()', '-p', '1+1', '--no-warnings'])).toEqual(['--no-warnings']);
  });

  it('backs up through the child, streaming its log and progress back; the child is gone afterwards', async () => {
    let progress = 0;
    let pid = 0;
    const c = ctx({ repo: path.join(t.path, 'repo1'), progress: () => void progress++ });
    const r = await runVaultJobInProcess(c, { onSpawn: (child) => void (pid = child.pid!) });
    expect(r.outcome, JSON.stringify(r.outcome)).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(r.snapshots).toHaveLength(1);
    expect(c.lines.some((l) => /snapshot \S+ committed: 2 files/.test(l))).toBe(true);
    expect(progress).toBeGreaterThan(0);
    expect(pid).toBeGreaterThan(0);
    expect(pid).not.toBe(process.pid);
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('an agent running --jitless --no-expose-wasm starts the child without them; the S3 key is not in its argv or environment', async () => {
    const secret = `vault-process-secret-${randomBytes(6).toString('hex')}`;
    // An S3 endpoint that refuses every request at once (403 is not retried).
    const s3 = http.createServer((_req, res) => res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code><Message>denied</Message></Error>'));
    await new Promise<void>((r) => s3.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(s3.address() as AddressInfo).port}`;
    // A parent with the systemd unit's flags runs an S3 job and reports its child's /proc entries.
    const script = `
      import fs from 'node:fs';
      const { runVaultJobInProcess } = await import(${JSON.stringify(distProcess)});
      let seen = null;
      const r = await runVaultJobInProcess({
        kind: 'vault_snapshots', args: {}, indexDir: ${JSON.stringify(path.join(t.path, 'index'))},
        target: { storage: { type: 's3', endpoint: ${JSON.stringify(endpoint)}, bucket: 'b', prefix: 'p/', region: 'us-east-1', access_key_id: 'AKID', secret_access_key: ${JSON.stringify(secret)} }, age_recipient: ${JSON.stringify(recipient)} },
        signal: new AbortController().signal, line: () => {}, progress: () => {},
      }, { onSpawn: (c) => { seen = { cmdline: fs.readFileSync('/proc/' + c.pid + '/cmdline', 'utf8'), environ: fs.readFileSync('/proc/' + c.pid + '/environ', 'utf8') }; } });
      process.stdout.write(JSON.stringify({ seen, outcome: r.outcome }));
    `;
    const out = await new Promise<string>((resolve, reject) => {
      const file = path.join(t.path, 'jitless-parent.mjs');
      fs.writeFileSync(file, script);
      const p = spawn(process.execPath, ['--jitless', '--no-expose-wasm', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let o = '';
      let e = '';
      p.stdout.on('data', (d: Buffer) => (o += d.toString()));
      p.stderr.on('data', (d: Buffer) => (e += d.toString()));
      p.on('exit', (code) => (code === 0 ? resolve(o) : reject(new Error(`parent exited ${code}: ${e}`))));
    }).finally(() => s3.close());
    const { seen, outcome } = JSON.parse(out) as { seen: { cmdline: string; environ: string }; outcome: { status: string; error: string } };
    const argv = seen.cmdline.split('\0');
    expect(argv.some((a) => a.endsWith('vault-child.js'))).toBe(true);
    expect(argv).not.toContain('--jitless');
    expect(argv).not.toContain('--no-expose-wasm');
    expect(seen.cmdline).not.toContain(secret);
    expect(seen.environ).not.toContain(secret);
    expect(outcome.status).toBe('failed');
    expect(outcome.error).not.toContain(secret);
  }, 60_000);

  it('cancelling stops the child: the job is cancelled and nothing is committed', async () => {
    const ac = new AbortController();
    const c = ctx({ repo: path.join(t.path, 'repo2'), signal: ac.signal, progress: () => ac.abort() });
    let pid = 0;
    const r = await runVaultJobInProcess(c, { onSpawn: (child) => void (pid = child.pid!) });
    expect(r.outcome.status).toBe('cancelled');
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    expect(fs.existsSync(path.join(t.path, 'repo2', 'index'))).toBe(false);
  });

  it('a child killed mid-job is a failed job that says so', async () => {
    const c = ctx({ repo: path.join(t.path, 'repo3') });
    const r = await runVaultJobInProcess({ ...c, progress: () => undefined }, { onSpawn: (child) => void setTimeout(() => child.kill('SIGKILL'), 150) });
    expect(r.outcome.status).toBe('failed');
    expect(r.outcome.error).toMatch(/vault job process ended without a result \(signal SIGKILL\).*no snapshot was committed/);
  });
});
