import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendConfigError, ResticEngine, materialise, type Connection, type OutputLine } from '@restic-manager/engines';
import type { RepositoryConfig } from '@restic-manager/protocol';

/*
 * B2, Azure and GCS have no server here: a stand-in `restic` (a shell script) records the argv,
 * environment and credential files it was started with, and echoes every secret to stderr so
 * the redaction of the lines handed out is exercised too.
 */

const SA_KEY = '-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-gcs-private-key\\n-----END PRIVATE KEY-----\\n';
const SA_JSON = JSON.stringify({ type: 'service_account', project_id: 'proj-1', private_key_id: 'gcs-key-id-9a8b7c6d', private_key: SA_KEY, client_email: 'x@proj-1.iam.gserviceaccount.com' });
const REPO_PW = 'repo-pw-3c1d9e7f';

const repo = (url: string, credentials: RepositoryConfig['credentials'], extra: Partial<RepositoryConfig> = {}): RepositoryConfig =>
  ({ id: 'r1', name: 'r', engine: 'restic', url, password: REPO_PW, credentials, ...extra });

interface Seen { argv: string[]; env: Record<string, string>; files: Record<string, { mode: string; content: string }>; lines: string[] }

let tmp: string;
let script: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rm-backends-env-'));
  script = path.join(tmp, 'restic');
  // Records argv and env, the mode and content of every file under the job directory, then
  // prints every secret-looking variable to stderr and an empty snapshot list to stdout.
  await writeFile(script, [
    '#!/bin/sh',
    `out=${tmp}/seen`,
    'printf "%s\\0" "$@" > "$out.argv"',
    'env -0 > "$out.env"',
    'for f in "$RM_TEST_JOB_DIR"/*; do [ -f "$f" ] && printf "%s\\0%s\\0" "$(basename "$f")" "$(stat -c %a "$f")" >> "$out.files"; done',
    'for v in "$B2_ACCOUNT_KEY" "$AZURE_ACCOUNT_KEY" "$AZURE_ACCOUNT_SAS" "$AWS_SECRET_ACCESS_KEY" "$RESTIC_PASSWORD"; do [ -n "$v" ] && echo "secret: $v" >&2; done',
    'echo "[]"',
  ].join('\n'), { mode: 0o700 });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function runWith(r: RepositoryConfig): Promise<{ seen: Seen; conn: Connection; dir: string }> {
  const dir = await mkdtemp(path.join(tmp, 'job-'));
  for (const f of ['argv', 'env', 'files']) await rm(path.join(tmp, `seen.${f}`), { force: true });
  const conn = await materialise(r, dir);
  const lines: string[] = [];
  const res = await new ResticEngine().snapshots({ ...conn, binary: script, env: { ...conn.env, RM_TEST_JOB_DIR: dir } }, undefined, { onLine: (l: OutputLine) => lines.push(l.line) });
  expect(res.ok).toBe(true);
  const split = async (f: string): Promise<string[]> => (await readFile(path.join(tmp, `seen.${f}`), 'utf8').catch(() => '')).split('\0').filter((x, i, a) => i < a.length - 1 || x !== '');
  const env: Record<string, string> = {};
  for (const kv of await split('env')) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  const files: Seen['files'] = {};
  const fl = await split('files');
  for (let i = 0; i + 1 < fl.length; i += 2) files[fl[i]!] = { mode: fl[i + 1]!, content: await readFile(path.join(dir, fl[i]!), 'utf8') };
  return { seen: { argv: await split('argv'), env, files, lines }, conn, dir };
}

/** Variables of the backends' namespaces the child got (RESTIC_PASSWORD etc. included). */
const backendVars = (env: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter(([k]) => /^(RESTIC_|AWS_|B2_|AZURE_|GOOGLE_|RCLONE_)/.test(k)));

function expectNoSecretIn(seen: Seen, secrets: string[]): void {
  const argv = seen.argv.join(' ');
  const lines = seen.lines.join('\n');
  for (const s of secrets) {
    expect(argv, `argv must not hold ${s.slice(0, 6)}…`).not.toContain(s);
    expect(lines, `output lines must not hold ${s.slice(0, 6)}…`).not.toContain(s);
  }
}

describe('backend materialiser: what restic is handed (B2, Azure, GCS without a server)', () => {
  it('B2: account id and key in B2_ACCOUNT_ID / B2_ACCOUNT_KEY only; inherited B2_/AWS_ variables are scrubbed', async () => {
    process.env.B2_ACCOUNT_KEY = 'parent-b2-key-leak';
    process.env.AWS_SECRET_ACCESS_KEY = 'parent-aws-key-leak';
    try {
      const { seen } = await runWith(repo('b2:bucket-1:prefix', { backend: 'b2', account_id: 'b2-id-0042abcd', account_key: 'b2-key-K005deadbeef' }));
      expect(backendVars(seen.env)).toEqual({ RESTIC_REPOSITORY: 'b2:bucket-1:prefix', RESTIC_PASSWORD: REPO_PW, B2_ACCOUNT_ID: 'b2-id-0042abcd', B2_ACCOUNT_KEY: 'b2-key-K005deadbeef' });
      expect(seen.files).toEqual({});
      expectNoSecretIn(seen, ['b2-id-0042abcd', 'b2-key-K005deadbeef', REPO_PW]);
      expect(seen.lines.join('\n')).toContain('secret: ***'); // the echoed key came back redacted
    } finally {
      delete process.env.B2_ACCOUNT_KEY;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });

  it('Azure: account name and key, or name and SAS token; never both', async () => {
    const key = await runWith(repo('azure:container:/x', { backend: 'azure', account_name: 'acct1', account_key: 'azure-key-Zm9vYmFy==' }));
    expect(backendVars(key.seen.env)).toEqual({ RESTIC_REPOSITORY: 'azure:container:/x', RESTIC_PASSWORD: REPO_PW, AZURE_ACCOUNT_NAME: 'acct1', AZURE_ACCOUNT_KEY: 'azure-key-Zm9vYmFy==' });
    expectNoSecretIn(key.seen, ['azure-key-Zm9vYmFy==', REPO_PW]);
    const sas = await runWith(repo('azure:container:/x', { backend: 'azure', account_name: 'acct1', sas_token: 'sv=2021&sig=azure-sas-abcdef' }));
    expect(backendVars(sas.seen.env)).toEqual({ RESTIC_REPOSITORY: 'azure:container:/x', RESTIC_PASSWORD: REPO_PW, AZURE_ACCOUNT_NAME: 'acct1', AZURE_ACCOUNT_SAS: 'sv=2021&sig=azure-sas-abcdef' });
    expectNoSecretIn(sas.seen, ['sv=2021&sig=azure-sas-abcdef']);
    const dir = await mkdtemp(path.join(tmp, 'job-'));
    await expect(materialise(repo('azure:c:/x', { backend: 'azure', account_name: 'acct1', account_key: 'k-k-k-k', sas_token: 's-s-s-s' }), dir)).rejects.toThrow(/^credentials\.account_key: give exactly one/);
  });

  it('GCS: project id in GOOGLE_PROJECT_ID, the service-account JSON in a 0600 file named by GOOGLE_APPLICATION_CREDENTIALS', async () => {
    const { seen, dir } = await runWith(repo('gs:bucket:/restic', { backend: 'gcs', project_id: 'proj-1', service_account_json: SA_JSON }));
    const keyFile = path.join(dir, 'gcs-service-account.json');
    expect(backendVars(seen.env)).toEqual({ RESTIC_REPOSITORY: 'gs:bucket:/restic', RESTIC_PASSWORD: REPO_PW, GOOGLE_PROJECT_ID: 'proj-1', GOOGLE_APPLICATION_CREDENTIALS: keyFile });
    expect(seen.files).toEqual({ 'gcs-service-account.json': { mode: '600', content: SA_JSON } });
    expectNoSecretIn(seen, [SA_JSON, 'gcs-key-id-9a8b7c6d']);
    expect(Object.values(seen.env).join('\n')).not.toContain('gcs-private-key');
  });

  it('S3: keys, session token and region in AWS_*, path-style and the CA file as flags (file paths only)', async () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIBfake-ca-for-the-test\n-----END CERTIFICATE-----\n';
    const { seen, dir } = await runWith(repo('s3:https://127.0.0.1:9/bkt/p', {
      backend: 's3', access_key_id: 'AKIA-test-0001', secret_access_key: 's3-secret-key-9f8e', session_token: 's3-session-tok-77', region: 'eu-west-1', path_style: true,
    }, { tls_ca_pem: ca }));
    expect(backendVars(seen.env)).toEqual({
      RESTIC_REPOSITORY: 's3:https://127.0.0.1:9/bkt/p', RESTIC_PASSWORD: REPO_PW,
      AWS_ACCESS_KEY_ID: 'AKIA-test-0001', AWS_SECRET_ACCESS_KEY: 's3-secret-key-9f8e', AWS_SESSION_TOKEN: 's3-session-tok-77', AWS_DEFAULT_REGION: 'eu-west-1',
    });
    expect(seen.argv.slice(0, 4)).toEqual(['--cacert', path.join(dir, 'ca.pem'), '-o', 's3.bucket-lookup=path']);
    expect(seen.files).toEqual({ 'ca.pem': { mode: '600', content: ca } });
    expectNoSecretIn(seen, ['s3-secret-key-9f8e', 's3-session-tok-77', REPO_PW]);
  });

  it('REST: the user and password only inside RESTIC_REPOSITORY of the child', async () => {
    const { seen, conn } = await runWith(repo('rest:http://127.0.0.1:9/h1/', { backend: 'rest', username: 'h1', password: 'rest-pw-0badcafe' }));
    expect(backendVars(seen.env)).toEqual({ RESTIC_REPOSITORY: 'rest:http://h1:rest-pw-0badcafe@127.0.0.1:9/h1/', RESTIC_PASSWORD: REPO_PW });
    expect(conn.repository).toBe('rest:http://127.0.0.1:9/h1/');
    expectNoSecretIn(seen, ['rest-pw-0badcafe']);
  });

  it('SFTP: key and known_hosts in 0600 files; the ssh command names only those files and checks host keys strictly', async () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-sftp-key-material\n-----END OPENSSH PRIVATE KEY-----\n';
    const kh = '[10.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIfake\n';
    const { seen, dir } = await runWith(repo('sftp:backup@10.0.0.1:/srv/restic', { backend: 'sftp', private_key: key, known_hosts: kh, port: 2222 }));
    expect(seen.files).toEqual({ 'ssh-key': { mode: '600', content: key }, known_hosts: { mode: '600', content: kh }, 'ssh.log': { mode: '600', content: '' } });
    expect(seen.argv[0]).toBe('-o');
    const cmd = seen.argv[1]!;
    expect(cmd).toBe(`sftp.command=ssh -F none -E ${dir}/ssh.log -i ${dir}/ssh-key -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o PasswordAuthentication=no -o UserKnownHostsFile=${dir}/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o UpdateHostKeys=no -o CheckHostIP=no -o ConnectTimeout=20 -o ServerAliveInterval=30 -p 2222 -l backup -s -- 10.0.0.1 sftp`);
    expect(cmd).not.toMatch(/StrictHostKeyChecking=(?:no|accept-new)/);
    expectNoSecretIn(seen, [key, 'sftp-key-material']);
  });

  it('rclone: a generated one-remote rclone.conf (0600) named by RCLONE_CONFIG; inherited RCLONE_ variables are scrubbed', async () => {
    process.env.RCLONE_CONFIG_PASS = 'parent-rclone-leak';
    try {
      const { seen, dir } = await runWith(repo('rclone:dav:restic/repo', { backend: 'rclone', remote_type: 'webdav', options: { url: 'http://127.0.0.1:9', user: 'dav', pass: 'obscured-pass-xyz1' } }));
      expect(backendVars(seen.env)).toEqual({ RESTIC_REPOSITORY: 'rclone:dav:restic/repo', RESTIC_PASSWORD: REPO_PW, RCLONE_CONFIG: path.join(dir, 'rclone.conf') });
      expect(seen.files).toEqual({ 'rclone.conf': { mode: '600', content: '[dav]\ntype = webdav\nurl = http://127.0.0.1:9\nuser = dav\npass = obscured-pass-xyz1\n' } });
      expectNoSecretIn(seen, ['obscured-pass-xyz1']);
    } finally {
      delete process.env.RCLONE_CONFIG_PASS;
    }
  });
});

describe('backend materialiser: refusals name the field', () => {
  const fresh = (): Promise<string> => mkdtemp(path.join(tmp, 'job-'));

  it('credentials of another backend than the URL', async () => {
    await expect(materialise(repo('s3:https://h/b', { backend: 'b2', account_id: 'a', account_key: 'b' }), await fresh())).rejects.toThrow(/^credentials\.backend: the URL is a s3 location; these credentials are for b2$/);
  });

  it('an SFTP host that ssh would read as an option, and a bad user name', async () => {
    const c = { backend: 'sftp' as const, private_key: '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n', known_hosts: 'h ssh-ed25519 AAAA' };
    const err = await materialise(repo('sftp:-oProxyCommand=sh:/x', c), await fresh()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendConfigError);
    expect((err as BackendConfigError).field).toBe('url');
    await expect(materialise(repo('sftp://u;rm@h//x', c), await fresh())).rejects.toThrow(/^url: the SFTP user name/);
  });

  it('an rclone option named type, and a job directory that is not private', async () => {
    await expect(materialise(repo('rclone:r:x', { backend: 'rclone', remote_type: 'webdav', options: { type: 'local' } }), await fresh())).rejects.toThrow(/^credentials\.options\.type:/);
    const open = await fresh();
    await chmod(open, 0o755);
    await expect(materialise(repo('/srv/x', { backend: 'local' }), open)).rejects.toThrow(/must be mode 0700/);
    expect(await readdir(open)).toEqual([]);
    expect((await stat(open)).mode & 0o777).toBe(0o755);
  });
});
