import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Outbox, StateError, newSecretsKey, readAgentConfig, readSecrets, statePaths, writeAgentConfig, writeFileAtomic, writeSecrets,
} from '@restic-manager/agent';
import { tempDirs } from './helpers/temp-dirs.js';

const { tmp } = tempDirs('rm-agent-state-');

const mode = (f: string): number => fs.statSync(f).mode & 0o777;

describe('agent.yaml', () => {
  it('round-trips and is written with mode 0600', () => {
    const p = statePaths(tmp());
    const cfg = { server_url: 'https://s.example', host_id: 'h1', bearer: 'b'.repeat(40), secrets_key: newSecretsKey(), cert_pin_sha256: 'ab'.repeat(32) };
    writeAgentConfig(p.config, cfg);
    expect(readAgentConfig(p.config)).toEqual(cfg);
    expect(mode(p.config)).toBe(0o600);
  });

  it('reads a hand-edited file (plain, single-quoted and double-quoted scalars, comments)', () => {
    const p = statePaths(tmp());
    const key = newSecretsKey();
    fs.writeFileSync(p.config, `# edited by hand\nserver_url: https://s.example:8443 # the proxy\nhost_id: 'h-1'\nbearer: "b\\"q"\n\nsecrets_key: ${key}\n`);
    expect(readAgentConfig(p.config)).toEqual({ server_url: 'https://s.example:8443', host_id: 'h-1', bearer: 'b"q', secrets_key: key });
  });

  it('missing file -> one clear state_missing error telling how to enroll', () => {
    const p = statePaths(tmp());
    expect(() => readAgentConfig(p.config)).toThrow(StateError);
    expect(() => readAgentConfig(p.config)).toThrow(/not enrolled yet.*enroll --server/);
  });

  it('corrupt file -> state_corrupt naming the field', () => {
    const p = statePaths(tmp());
    fs.writeFileSync(p.config, 'server_url: x\nhosts:\n  - nested\n');
    expect(() => readAgentConfig(p.config)).toThrow(/corrupt \(not valid YAML for the agent: line 3\)/);
    fs.writeFileSync(p.config, 'server_url: "unterminated\n');
    expect(() => readAgentConfig(p.config)).toThrow(/line 1/);
    fs.writeFileSync(p.config, 'server_url: x\nhost_id: h\nbearer: b\n');
    try {
      readAgentConfig(p.config);
      expect.unreachable();
    } catch (err) {
      expect((err as StateError).code).toBe('state_corrupt');
      expect((err as Error).message).toMatch(/'secrets_key'/);
    }
  });
});

describe('secrets.enc', () => {
  const s = { repository: 'rest:http://127.0.0.1:1/h1/', password: 'correct horse battery staple', rest_username: 'h1', rest_password: 'rest-secret-42' };

  it('round-trips, is 0600 and holds no plaintext', () => {
    const p = statePaths(tmp());
    const key = newSecretsKey();
    writeSecrets(p.secrets, key, s);
    expect(readSecrets(p.secrets, key)).toEqual(s);
    expect(mode(p.secrets)).toBe(0o600);
    const raw = fs.readFileSync(p.secrets);
    for (const v of [s.password, s.rest_password, 'rest:http']) expect(raw.includes(Buffer.from(v))).toBe(false);
  });

  it('carries the repositories of config.update (issue 15) sealed, and files written before them still load', () => {
    const p = statePaths(tmp());
    const key = newSecretsKey();
    const repo = {
      id: 'repo-b2', name: 'offsite', engine: 'restic' as const, url: 'b2:bucket:host1', password: 'b2-repo-password-1',
      credentials: { backend: 'b2' as const, account_id: 'b2-account-0001', account_key: 'b2-application-key-secret' },
    };
    writeSecrets(p.secrets, key, { ...s, repositories: [repo] });
    expect(readSecrets(p.secrets, key)).toEqual({ ...s, repositories: [repo] });
    const raw = fs.readFileSync(p.secrets);
    for (const v of [repo.password, repo.credentials.account_key, 'b2:bucket']) expect(raw.includes(Buffer.from(v))).toBe(false);
    // The layout before issue 15: the same sealed JSON without `repositories`.
    writeSecrets(p.secrets, key, s);
    expect(readSecrets(p.secrets, key)).toEqual(s);
    expect(readSecrets(p.secrets, key)).not.toHaveProperty('repositories');
    writeSecrets(p.secrets, key, { ...s, repositories: [{ ...repo, credentials: null }] as never });
    expect(() => readSecrets(p.secrets, key)).toThrow(/bad repositories/);
  });

  it('absent -> null (no credentials delivered yet)', () => {
    expect(readSecrets(statePaths(tmp()).secrets, newSecretsKey())).toBeNull();
  });

  it('tampered file or wrong key -> state_corrupt, never garbage', () => {
    const p = statePaths(tmp());
    const key = newSecretsKey();
    writeSecrets(p.secrets, key, s);
    expect(() => readSecrets(p.secrets, newSecretsKey())).toThrow(/authentication failed/);
    const raw = fs.readFileSync(p.secrets);
    raw[raw.length - 1]! ^= 1;
    fs.writeFileSync(p.secrets, raw);
    expect(() => readSecrets(p.secrets, key)).toThrow(StateError);
    fs.writeFileSync(p.secrets, 'short');
    expect(() => readSecrets(p.secrets, key)).toThrow(/not a secrets file/);
  });
});

describe('writeFileAtomic', () => {
  it('keeps the old content and leaves no temp file when the write fails', () => {
    const d = tmp();
    const target = path.join(d, 'f');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'x'), 'keep');
    expect(() => writeFileAtomic(target, 'new')).toThrow();
    expect(fs.readdirSync(d)).toEqual(['f']);
    expect(fs.readFileSync(path.join(target, 'x'), 'utf8')).toBe('keep');
  });

  it('replaces content in one step', () => {
    const f = path.join(tmp(), 'g');
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, 'two');
    expect(fs.readFileSync(f, 'utf8')).toBe('two');
    expect(fs.readdirSync(path.dirname(f))).toEqual(['g']);
  });
});

describe('Outbox', () => {
  it('survives a restart, keeps order, and forgets delivered entries', () => {
    const f = statePaths(tmp()).outbox;
    const a = new Outbox(f);
    for (let i = 0; i < 5; i++) a.append({ type: 'log.stream', job_id: 'j', seq: i });
    const ids = a.pending().map((e) => e.id);
    a.markDelivered(ids[1]!);
    expect(a.pending().map((e) => e.frame.seq)).toEqual([2, 3, 4]);
    a.close();
    // Delivered entries may be replayed after a restart (the server de-duplicates), undelivered never lost.
    const b = new Outbox(f);
    expect(b.pending().map((e) => e.frame.seq).slice(-3)).toEqual([2, 3, 4]);
    b.markDelivered(b.pending().at(-1)!.id);
    expect(b.size()).toBe(0);
    b.close();
    expect(fs.readFileSync(f, 'utf8')).toBe('');
    expect(new Outbox(f).size()).toBe(0);
  });

  it('keeps each entry\'s outbox_seq across restarts and numbers the lines of an older journal', () => {
    const f = statePaths(tmp()).outbox;
    fs.writeFileSync(f, '{"type":"a","seq":0}\n{"type":"a","seq":1}\n');
    const a = new Outbox(f);
    expect(a.pending().map((e) => [e.id, e.frame.outbox_seq])).toEqual([[1, 1], [2, 2]]);
    a.markDelivered(1);
    expect(a.append({ type: 'a', seq: 2 })).toBe(3);
    a.close();
    // The delivered line is still in the journal until compaction (a replay the server ignores).
    const b = new Outbox(f);
    expect(b.pending().map((e) => [e.id, e.frame.seq])).toEqual([[1, 0], [2, 1], [3, 2]]);
    expect(b.append({ type: 'a', seq: 3 })).toBe(4);
    b.close();
    expect(fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { outbox_seq: number }).outbox_seq)).toEqual([1, 2, 3, 4]);
  });

  it('drops a torn last line from a crash mid-append and keeps the rest', () => {
    const f = statePaths(tmp()).outbox;
    fs.writeFileSync(f, '{"type":"a","seq":0}\n{"type":"a","seq":1}\n{"type":"a","se');
    const o = new Outbox(f);
    expect(o.pending().map((e) => e.frame.seq)).toEqual([0, 1]);
    expect(o.skippedOnLoad).toBe(1);
    o.append({ type: 'a', seq: 2 });
    o.close();
    expect(new Outbox(f).pending().map((e) => e.frame.seq)).toEqual([0, 1, 2]);
  });
});
