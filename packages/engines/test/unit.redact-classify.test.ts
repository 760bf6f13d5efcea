import { describe, expect, it } from 'vitest';
import { classify, kindFromText, redactUrl, Redactor, type RunOutcome } from '@restic-manager/engines';

const run = (over: Partial<RunOutcome>): RunOutcome => ({ exitCode: 1, signal: null, aborted: false, timedOut: false, stderrTail: [], durationMs: 10, ...over });

describe('redactUrl', () => {
  it('hides the password of user:pass@ URLs and leaves everything else alone', () => {
    expect(redactUrl('rest:http://alice:s3cr%40t@127.0.0.1:8000/alice/')).toBe('rest:http://alice:***@127.0.0.1:8000/alice/');
    expect(redactUrl('Fatal: at s3:https://key:secret@host/b and rest:https://u:p@h/')).toBe('Fatal: at s3:https://key:***@host/b and rest:https://u:***@h/');
    expect(redactUrl('/srv/repo')).toBe('/srv/repo');
    expect(redactUrl('rest:http://127.0.0.1:8000/alice/')).toBe('rest:http://127.0.0.1:8000/alice/');
  });
});

describe('Redactor', () => {
  it('replaces every secret, URL-encoded forms too, and ignores very short ones', () => {
    const r = new Redactor(['p@ss word!', 'AKIAEXAMPLE', undefined, 'ab']);
    expect(r.redact('pw=p@ss word! enc=p%40ss%20word! key AKIAEXAMPLE ab')).toBe('pw=*** enc=*** key *** ab');
  });
});

describe('classify (restic 0.14 messages, recorded from the real binary)', () => {
  it.each([
    [['Fatal: wrong password or no key found'], 'wrong_password'],
    [['Fatal: unable to open config file: stat /r/config: no such file or directory', 'Is there a repository at the following location?', '/r'], 'no_repository'],
    [['Fatal: unable to open config file: <config/> does not exist', 'Is there a repository at the following location?', 'rest:http://u:***@127.0.0.1:1/u/'], 'no_repository'],
    [['unable to create lock in backend: repository is already locked by PID 11409 on vm by root (UID 0, GID 0)', 'lock was created at 2026-11-22 02:25:44 (1.5s ago)', 'storage ID 18ab3e08', 'the `unlock` command can be used to remove stale locks'], 'lock_failed'],
    [['Fatal: something else broke'], 'failed'],
  ])('%j -> %s', (stderrTail, kind) => {
    expect(classify('snapshots', run({ stderrTail }), 'restic')?.kind).toBe(kind);
  });

  it('extracts the lock holder and a readable message', () => {
    const e = classify('prune', run({ stderrTail: ['unable to create lock in backend: repository is already locked exclusively by PID 42 on web1 by backup (UID 998, GID 998)', 'lock was created at 2026-11-22 02:25:44 (3m ago)', 'storage ID 18ab3e08', 'the `unlock` command can be used to remove stale locks'] }), 'restic');
    expect(e).toMatchObject({ kind: 'lock_failed', command: 'prune', lockHolder: 'PID 42 on web1 by backup (UID 998, GID 998)' });
    expect(e?.message).toMatch(/^unable to create lock/);
  });

  it('uses exit codes first (restic >= 0.17: 3, 10, 11, 12, 130)', () => {
    expect([3, 10, 11, 12, 130].map((exitCode) => classify('backup', run({ exitCode }), 'restic')?.kind)).toEqual(['partial', 'no_repository', 'lock_failed', 'wrong_password', 'interrupted']);
    expect(classify('backup', run({ exitCode: 0 }), 'restic')).toBeUndefined();
  });

  it('timeout, abort and spawn failure win over the exit code', () => {
    expect(classify('backup', run({ exitCode: 130, timedOut: true }), 'restic')?.kind).toBe('timeout');
    expect(classify('backup', run({ exitCode: 130, aborted: true }), 'restic')?.kind).toBe('interrupted');
    expect(classify('backup', run({ exitCode: null, spawnError: 'spawn restic ENOENT' }), 'restic')).toMatchObject({ kind: 'not_installed', message: 'restic could not be started: spawn restic ENOENT' });
    expect(classify('backup', run({ exitCode: null, signal: 'SIGKILL', aborted: true }), 'restic')?.kind).toBe('interrupted');
  });

  it('a run killed by a signal nobody here sent (OOM killer, kill -9) failed, and the message names the signal; never "cancelled"', () => {
    expect(classify('backup', run({ exitCode: null, signal: 'SIGKILL' }), 'restic')).toMatchObject({ kind: 'failed', message: 'backup was killed by SIGKILL' });
    expect(classify('backup', run({ exitCode: null, signal: 'SIGKILL', stderrTail: ['scan finished'] }), 'restic')?.message).toBe('backup was killed by SIGKILL: scan finished');
  });

  it('skips a Go stack trace when choosing the message (restic 0.14 append-only forget)', () => {
    const stderrTail = ['blob not removed, server response: 403 Forbidden (403)', 'github.com/restic/restic/internal/backend/rest.(*Backend).Remove', '\tgithub.com/restic/restic/internal/backend/rest/rest.go:399', 'main.deleteFiles.func2', '\tgithub.com/restic/restic/cmd/restic/delete.go:47', 'runtime.goexit', '\truntime/asm_amd64.s:1594'];
    expect(classify('forget', run({ stderrTail }), 'restic')?.message).toBe('blob not removed, server response: 403 Forbidden (403)');
  });

  it('kindFromText knows rustic-style wording too', () => {
    expect(kindFromText('error: No suitable key found!')).toBe('wrong_password');
    expect(kindFromText('nothing special')).toBeUndefined();
  });
});
