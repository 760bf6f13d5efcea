import { execEngine, JsonLines, fail, ok, type Invocation } from '../exec.js';
import { libraryError } from '../classify.js';
import { withSecretFile } from '../secret-file.js';
import type { CallOptions, KeyAddRequest, Result } from '../types.js';
import { isObj } from './parse.js';

export interface KeyInfo {
  id: string;
  current: boolean;
  userName: string;
  hostName: string;
  created: string;
}

export async function listKeys(inv: Invocation, opts: CallOptions): Promise<Result<KeyInfo[]>> {
  const keys: KeyInfo[] = [];
  const lines = new JsonLines(inv.redactor, (v) => {
    if (!Array.isArray(v)) return;
    for (const k of v) {
      if (!isObj(k) || typeof k.id !== 'string') continue;
      keys.push({ id: k.id, current: k.current === true, userName: String(k.userName ?? ''), hostName: String(k.hostName ?? ''), created: String(k.created ?? '') });
    }
  });
  const { error } = await execEngine(inv, 'key list', ['key', 'list', '--json'], { ...opts, onStdoutLine: lines.line });
  return error ? fail(error) : ok(keys);
}

/**
 * `key add`: the new password goes through a 0600 file in a private temp dir (removed afterwards,
 * also on failure), never argv or the environment. restic 0.14 does not print the new key's id,
 * so it is found by listing keys before and after.
 */
export async function resticKeyAdd(inv: Invocation, req: KeyAddRequest, opts: CallOptions): Promise<Result<{ keyId: string }>> {
  if (!req.newPassword) return fail(libraryError('key add', 'invalid_argument', 'key add: newPassword must not be empty'));
  const before = await listKeys(inv, opts);
  if (!before.ok) return before;
  const { error } = await withSecretFile(req.newPassword, (file) => {
    const args = ['key', 'add', '--new-password-file', file];
    if (req.user) args.push('--user', req.user);
    if (req.host) args.push('--host', req.host);
    return execEngine(inv, 'key add', args, opts);
  });
  if (error) return fail(error);
  const after = await listKeys(inv, opts);
  if (!after.ok) return after;
  const known = new Set(before.value.map((k) => k.id));
  const added = after.value.filter((k) => !known.has(k.id));
  if (added.length !== 1 || !added[0]) return fail(libraryError('key add', 'failed', `key add: expected one new key, found ${added.length}`));
  return ok({ keyId: added[0].id });
}
