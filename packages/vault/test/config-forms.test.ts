// Both config forms of vaultik: the seed's (source_dirs, age_recipient, s3:) and today's
// (snapshots: <name>: {paths, exclude}, age_recipients:, storage_url:, ~ expansion, and the
// VAULTIK_CONFIG / VAULTIK_INDEX_PATH / VAULTIK_AGE_SECRET_KEY environment variables).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@restic-manager/testkit';
import { backupAll, ConfigError, loadConfig, LocalStorage, parseConfig, restore, X25519Identity } from '../src/index.js';
import { writeTree } from './helpers.js';

const ids = [X25519Identity.generate(), X25519Identity.generate(), X25519Identity.generate()];
const [r1, r2, r3] = ids.map((i) => i.recipient.toString()) as [string, string, string];

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('vault-cfgforms-');
});
afterEach(() => dir.cleanup());

describe("today's vaultik keys", () => {
  it('snapshots, age_recipients and an s3:// storage_url load; credentials come from s3:', () => {
    const cfg = parseConfig({
      snapshots: { system: { paths: ['/etc', '/var/lib'], exclude: ['*.cache'] }, home: { paths: ['~/docs'] } },
      exclude: ['*.log'],
      age_recipients: [r1, r2],
      storage_url: 's3://vaultik-data/host1?endpoint=s3.example.com:9000&region=eu-west-1',
      s3: { access_key_id: 'AK', secret_access_key: 'SK' },
    });
    expect(cfg.snapshots).toEqual([
      { name: 'system', paths: ['/etc', '/var/lib'], exclude: ['*.cache'] },
      { name: 'home', paths: [path.join(os.homedir(), 'docs')], exclude: [] },
    ]);
    expect(cfg.sourceDirs).toEqual(['/etc', '/var/lib', path.join(os.homedir(), 'docs')]);
    expect(cfg.exclude).toEqual(['*.log']);
    expect(cfg.ageRecipients.map((r) => r.toString())).toEqual([r1, r2]);
    expect(cfg.s3).toEqual({ bucket: 'vaultik-data', prefix: 'host1/', endpoint: 'https://s3.example.com:9000', region: 'eu-west-1', accessKeyId: 'AK', secretAccessKey: 'SK' });
  });

  it.each([
    ['s3://b', { bucket: 'b', prefix: '', region: 'us-east-1' }],
    ['s3://b/a/b/', { bucket: 'b', prefix: 'a/b/', region: 'us-east-1' }],
    ['s3://b/p?endpoint=minio:9000&use_ssl=false', { bucket: 'b', prefix: 'p/', region: 'us-east-1', endpoint: 'http://minio:9000' }],
    ['s3://b/p?endpoint=https://s3.example.com', { bucket: 'b', prefix: 'p/', region: 'us-east-1', endpoint: 'https://s3.example.com' }],
  ])('storage_url %s', (url, s3) => {
    expect(parseConfig({ source_dirs: ['/x'], age_recipient: r1, storage_url: url }).s3).toEqual(s3);
  });

  it('file:// storage_url and ~ in paths expand to the home directory', () => {
    const cfg = parseConfig({ source_dirs: ['~'], age_recipient: r1, storage_url: 'file://~/backups', index_path: '~/.cache/i.sqlite' });
    expect(cfg.localDir).toBe(path.join(os.homedir(), 'backups'));
    expect(cfg.s3).toBeUndefined();
    expect(cfg.sourceDirs).toEqual([os.homedir()]);
    expect(cfg.indexPath).toBe(path.join(os.homedir(), '.cache', 'i.sqlite'));
    expect(parseConfig({ source_dirs: ['/x'], age_recipient: r1, storage_url: 'file:///srv/vault' }).localDir).toBe('/srv/vault');
  });

  it('both forms in one file load when they agree', () => {
    const cfg = parseConfig({
      source_dirs: ['/x'], age_recipient: r1, age_recipients: [r1, r2],
      storage_url: 's3://b/p/', s3: { bucket: 'b', prefix: 'p/', access_key_id: 'AK' },
    });
    expect(cfg.ageRecipients.map((r) => r.toString())).toEqual([r1, r2]);
    expect(cfg.s3).toMatchObject({ bucket: 'b', prefix: 'p/', accessKeyId: 'AK' });
    const local = parseConfig({ source_dirs: ['/x'], age_recipient: r1, storage_url: 'file:///srv/v', local_dir: '/srv/v' });
    expect(local.localDir).toBe('/srv/v');
  });

  it.each([
    [{ source_dirs: ['/x'], snapshots: { a: { paths: ['/y'] } }, age_recipient: r1, local_dir: '/r' }, /source_dirs and snapshots: use one form/],
    [{ source_dirs: ['/x'], age_recipient: r3, age_recipients: [r1, r2], local_dir: '/r' }, /age_recipient: contradicts age_recipients/],
    [{ source_dirs: ['/x'], age_recipient: r1, storage_url: 's3://b/p', s3: { bucket: 'other' } }, /s3\.bucket: contradicts storage_url \('other' vs 'b'\)/],
    [{ source_dirs: ['/x'], age_recipient: r1, storage_url: 's3://b/p', s3: { prefix: 'q/' } }, /s3\.prefix: contradicts storage_url/],
    [{ source_dirs: ['/x'], age_recipient: r1, storage_url: 's3://b/p?endpoint=e1', s3: { endpoint: 'https://e2' } }, /s3\.endpoint: contradicts storage_url/],
    [{ source_dirs: ['/x'], age_recipient: r1, storage_url: 'file:///a', s3: { bucket: 'b' } }, /s3\.bucket: contradicts storage_url \(a file:\/\/ URL\)/],
    [{ source_dirs: ['/x'], age_recipient: r1, storage_url: 'file:///a', local_dir: '/b' }, /local_dir: contradicts storage_url/],
    [{ source_dirs: ['/x'], age_recipient: r1, storage_url: 's3://b', local_dir: '/b' }, /local_dir: contradicts storage_url/],
    [{ source_dirs: ['/x'], age_recipient: r1, s3: { bucket: 'b' }, local_dir: '/b' }, /local_dir: contradicts s3\.bucket/],
  ])('a contradictory mix is refused naming both keys: %j', (doc, msg) => {
    expect(() => parseConfig(doc)).toThrow(ConfigError);
    expect(() => parseConfig(doc)).toThrow(msg);
  });

  it.each([
    [{ snapshots: { a: { paths: ['/y'], typo: 1 } }, age_recipient: r1, local_dir: '/r' }, /unknown key 'snapshots\.a\.typo'/],
    [{ snapshots: { a: { exclude: ['*'] } }, age_recipient: r1, local_dir: '/r' }, /snapshots\.a\.paths: at least one path is required/],
    [{ snapshots: { 'bad name': { paths: ['/y'] } }, age_recipient: r1, local_dir: '/r' }, /snapshots\.bad name: a snapshot name uses/],
    [{ snapshots: {}, age_recipient: r1, local_dir: '/r' }, /snapshots: at least one named snapshot/],
    [{ snapshots: ['/y'], age_recipient: r1, local_dir: '/r' }, /snapshots: expected a mapping/],
    [{ source_dirs: ['/x'], age_recipients: [r1, 'age1nope'], local_dir: '/r' }, /age_recipients\.1: /],
    [{ source_dirs: ['/x'], age_recipients: [], local_dir: '/r' }, /age_recipients: at least one recipient/],
    [{ source_dirs: ['/x'], local_dir: '/r' }, /age_recipient: required \(or age_recipients/],
    [{ source_dirs: ['/x'], age_recipient: r1, age_secret_key: 'AGE-SECRET-KEY-1X', local_dir: '/r' }, /age_secret_key: refused: the backed-up host must never hold the private key/],
    [{ source_dirs: ['/x'], age_recipient: r1, storage_url: 'gs://b' }, /storage_url: unsupported scheme in 'gs:'/],
    [{ source_dirs: ['/x'], age_recipient: r1, storage_url: 's3://b/p?endpoint=e&color=red' }, /storage_url: unknown query parameter 'color'/],
    [{ source_dirs: ['/x'], age_recipient: r1, storage_url: 's3://AK:SK@b/p' }, /storage_url: credentials do not belong in the URL/],
    [{ source_dirs: ['/x'], age_recipient: r1, storage_url: 'file://relative/dir' }, /storage_url: file:\/\/ needs an absolute path/],
    [{ source_dirs: ['/x'], age_recipient: r1, local_dir: '/r', hostname_typo: 'h' }, /unknown key 'hostname_typo'/],
  ])('rejects %j naming the key', (doc, msg) => {
    expect(() => parseConfig(doc)).toThrow(msg);
  });
});

describe('environment variables', () => {
  it('VAULTIK_CONFIG names the file when none is given; VAULTIK_INDEX_PATH overrides index_path', () => {
    const file = path.join(dir.path, 'v.yaml');
    writeFileSync(file, `source_dirs: [/x]\nage_recipients: [${r1}]\nstorage_url: file:///srv/v\nindex_path: /var/lib/vaultik/index.sqlite\n`);
    expect(loadConfig(undefined, { VAULTIK_CONFIG: file }).indexPath).toBe('/var/lib/vaultik/index.sqlite');
    expect(loadConfig(undefined, { VAULTIK_CONFIG: file, VAULTIK_INDEX_PATH: '/tmp/other.sqlite' }).indexPath).toBe('/tmp/other.sqlite');
    expect(loadConfig(file, { VAULTIK_CONFIG: '/nope.yaml' }).localDir).toBe('/srv/v');
    expect(() => loadConfig(undefined, {})).toThrow(/no config file given \(pass one, or set VAULTIK_CONFIG\)/);
  });
});

describe('several recipients and named snapshots', () => {
  it('each recipient gets a stanza: every identity restores every snapshot; each named snapshot has its own paths and excludes', async () => {
    const a = path.join(dir.path, 'a');
    const b = path.join(dir.path, 'b');
    writeTree(a, { 'keep.txt': 'a1', 'x.cache': 'c', 'n.log': 'l' });
    writeTree(b, { 'keep.txt': 'b1', 'x.cache': 'kept in b', 'n.log': 'l' });
    const repo = path.join(dir.path, 'repo');
    mkdirSync(repo);
    const cfg = parseConfig({
      snapshots: { sys: { paths: [a], exclude: ['*.cache'] }, data: { paths: [b] } },
      exclude: ['*.log'],
      age_recipients: [r1, r2, r3],
      storage_url: `file://${repo}`,
      index_path: path.join(dir.path, 'index.sqlite'),
      chunk_size: '64KiB',
      pack_size: '1MiB',
    });
    const storage = new LocalStorage(repo);
    const results = await backupAll(cfg, { storage });
    expect(results.map((r) => r.name)).toEqual(['sys', 'data']);
    for (const [i, identity] of ids.entries()) {
      for (const r of results) {
        const out = path.join(dir.path, `out-${i}-${r.name}`);
        const res = await restore({ storage, identity, indexPrefix: cfg.indexPrefix, snapshotId: r.snapshotId, target: out });
        expect(res.damaged).toEqual([]);
      }
      expect(readFileSync(path.join(dir.path, `out-${i}-sys`, a, 'keep.txt'), 'utf8')).toBe('a1');
      expect(() => readFileSync(path.join(dir.path, `out-${i}-sys`, a, 'x.cache'))).toThrow(/ENOENT/);
      expect(() => readFileSync(path.join(dir.path, `out-${i}-sys`, b, 'keep.txt'))).toThrow(/ENOENT/);
      expect(readFileSync(path.join(dir.path, `out-${i}-data`, b, 'x.cache'), 'utf8')).toBe('kept in b');
      expect(() => readFileSync(path.join(dir.path, `out-${i}-data`, b, 'n.log'))).toThrow(/ENOENT/);
    }
    const stranger = X25519Identity.generate();
    await expect(restore({ storage, identity: stranger, indexPrefix: cfg.indexPrefix, snapshotId: results[0]!.snapshotId, target: path.join(dir.path, 'x') })).rejects.toThrow(/no identity matches/);
  });
});
