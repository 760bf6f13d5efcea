/**
 * The age identity of a host trusted for vault drills (docs/recoverability.md "Vault drills"):
 * a file the operator provisions (agent.yaml `vault_identity_file`, or RM_VAULT_IDENTITY_FILE),
 * a regular file of mode 0600 (no access for group or others) owned by the agent's user. It is
 * read only by this module; its content never reaches a log line, an error message, argv, the
 * environment, the IPC channel or the server — only the public recipient is reported.
 */
import { lstat, readFile } from 'node:fs/promises';
import type { VaultIdentityStatus } from '@restic-manager/protocol';

/** An identity file is a few lines (age-keygen writes three); anything larger is refused. */
const MAX_BYTES = 64 * 1024;

/** Where the identity file is configured: the environment wins over agent.yaml. */
export function identityFilePath(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env.RM_VAULT_IDENTITY_FILE ?? configured;
  return v && v.length > 0 ? v : undefined;
}

/**
 * The `AGE-SECRET-KEY-1…` line of the file, or why the file is refused (the reason names the
 * file and the rule, never its content). Never throws.
 */
export async function readIdentityFile(file: string): Promise<{ ok: true; key: string } | { ok: false; error: string }> {
  const st = await lstat(file).catch((e: unknown) => e as NodeJS.ErrnoException);
  if (st instanceof Error) return { ok: false, error: `vault identity file ${file} cannot be read: ${st.code === 'ENOENT' ? 'it does not exist' : st.code ?? 'error'}` };
  if (!st.isFile()) return { ok: false, error: `vault identity file ${file} is not a regular file (a symlink or directory is refused)` };
  if ((st.mode & 0o077) !== 0) {
    return { ok: false, error: `vault identity file ${file} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}: it must be 0600 (no access for group or others); run chmod 600 ${file}` };
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return { ok: false, error: `vault identity file ${file} is owned by uid ${st.uid}, not by the agent's user (uid ${uid}): chown it to the agent's user` };
  if (st.size > MAX_BYTES) return { ok: false, error: `vault identity file ${file} is ${st.size} bytes: an age identity file is a few lines` };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return { ok: false, error: `vault identity file ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}` };
  }
  const keys = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('AGE-SECRET-KEY-1'));
  if (keys.length !== 1) return { ok: false, error: `vault identity file ${file} must hold exactly one AGE-SECRET-KEY-1… line (it holds ${keys.length})` };
  return { ok: true, key: keys[0]! };
}

/**
 * What the agent reports at hello: the identity's public recipient, or why it is refused.
 * Loads only the age part of the vault engine (node:crypto), never the engine itself.
 */
export async function identityStatus(file: string): Promise<VaultIdentityStatus> {
  const r = await readIdentityFile(file);
  // hello.vault_identity.error is bounded (a long path must not make the hello invalid).
  if (!r.ok) return { recipient: null, error: r.error.length > 1000 ? `${r.error.slice(0, 997)}...` : r.error };
  try {
    const age = await import('@restic-manager/vault/age');
    return { recipient: age.X25519Identity.parse(r.key).recipient.toString(), error: null };
  } catch {
    return { recipient: null, error: `vault identity file ${file} does not hold a valid age identity (expected AGE-SECRET-KEY-1…)` };
  }
}
