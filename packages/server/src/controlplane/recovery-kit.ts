import { createHash } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';

/*
 * Break-glass shares of the server's secret key (docs/operations.md, "Recovery kit").
 * The 32-byte key is split with Shamir's scheme over GF(256) (the audited `shamir-secret-sharing`
 * library, a port of HashiCorp Vault's; its x coordinate is the share's last byte). Each share is
 * one printable line that a person can type back or a phone can read from its QR code (upper-case
 * hex and `-` only: QR alphanumeric mode):
 *
 *   RMKIT1-<kit id: 8 hex>-<threshold>-<total>-<number>-<share: 66 hex>-<check: 8 hex>
 *
 * The kit id is the first 4 bytes of SHA-256 over a label and the key: it tells shares of different
 * kits apart and verifies the combined key (the library itself does not). The check is the first
 * 4 bytes of SHA-256 over the line before it: it catches a mistyped share before combining.
 */

const PREFIX = 'RMKIT1';
const KEY_BYTES = 32;

/** A share or a set of shares that cannot be used; `message` says which and why. */
export class RecoveryKitError extends Error {
  readonly code = 'recovery_kit';
}

export interface RecoveryShare {
  kitId: string;
  threshold: number;
  total: number;
  /** 1-based share number (for people; the x coordinate is inside `data`). */
  number: number;
  /** The library's share: 32 bytes of y values, then the x coordinate. */
  data: Uint8Array;
  /** The canonical printable line. */
  line: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
const sha = (s: string | Uint8Array): Buffer => createHash('sha256').update(s).digest();

/** The kit id of a key: 8 hex characters, the same in every share of its kits. */
export function kitIdOf(key: Uint8Array): string {
  return hex(sha(Buffer.concat([Buffer.from('restic-manager recovery kit v1\0'), key])).subarray(0, 4));
}

function lineOf(kitId: string, threshold: number, total: number, number: number, data: Uint8Array): string {
  const body = `${PREFIX}-${kitId}-${threshold}-${total}-${number}-${hex(data)}`;
  return `${body}-${hex(sha(body).subarray(0, 4))}`;
}

/** Checks the counts a kit is made with; throws RecoveryKitError naming the flag. */
export function checkCounts(total: number, threshold: number): void {
  if (!Number.isInteger(total) || total < 2 || total > 255) throw new RecoveryKitError(`--shares must be a whole number from 2 to 255 (got ${total})`);
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > total) throw new RecoveryKitError(`--threshold must be a whole number from 2 to --shares (${total}) (got ${threshold})`);
}

/** Splits a 32-byte key into `total` shares, any `threshold` of which give the key back. */
export async function splitKey(key: Uint8Array, total: number, threshold: number): Promise<RecoveryShare[]> {
  if (key.length !== KEY_BYTES) throw new RecoveryKitError(`the secret key must be ${KEY_BYTES} bytes (got ${key.length})`);
  checkCounts(total, threshold);
  const kitId = kitIdOf(key);
  const parts = await split(Uint8Array.from(key), total, threshold);
  return parts.map((data, i) => ({ kitId, threshold, total, number: i + 1, data, line: lineOf(kitId, threshold, total, i + 1, data) }));
}

/**
 * Parses one share as typed or scanned: case and whitespace (spaces, line breaks, grouping) are
 * ignored. Throws RecoveryKitError saying what is wrong (never echoing the share itself).
 */
export function parseShare(text: string, label = 'share'): RecoveryShare {
  const compact = text.replace(/\s+/g, '').toUpperCase();
  const m = /^RMKIT1-([0-9A-F]{8})-(\d{1,3})-(\d{1,3})-(\d{1,3})-([0-9A-F]+)-([0-9A-F]{8})$/.exec(compact);
  if (!m) throw new RecoveryKitError(`${label} is not a recovery-kit share (expected RMKIT1-<kit>-<threshold>-<total>-<number>-<data>-<check>)`);
  const [, kitId = '', t = '', n = '', num = '', dataHex = '', check = ''] = m;
  const body = compact.slice(0, compact.length - 9);
  if (hex(sha(body).subarray(0, 4)) !== check) throw new RecoveryKitError(`${label} fails its check digits: it was mistyped or damaged`);
  const threshold = Number(t);
  const total = Number(n);
  const number = Number(num);
  if (dataHex.length !== (KEY_BYTES + 1) * 2) throw new RecoveryKitError(`${label} has ${dataHex.length / 2} data bytes, expected ${KEY_BYTES + 1}`);
  return { kitId, threshold, total, number, data: Uint8Array.from(Buffer.from(dataHex, 'hex')), line: compact };
}

/**
 * Combines shares (lines as typed) into the key. Refuses shares of different kits, duplicates,
 * fewer than the threshold, and a result whose kit id does not match (a corrupted share).
 */
export async function combineShares(texts: readonly string[]): Promise<Buffer> {
  const shares = texts.map((t, i) => parseShare(t, `share ${i + 1}`));
  const first = shares[0];
  if (!first) throw new RecoveryKitError('no shares given');
  const byX = new Map<number, RecoveryShare>();
  for (const [i, s] of shares.entries()) {
    if (s.kitId !== first.kitId) throw new RecoveryKitError(`share ${i + 1} belongs to kit ${s.kitId}, share 1 to kit ${first.kitId}: use shares of one kit`);
    if (s.threshold !== first.threshold || s.total !== first.total) throw new RecoveryKitError(`share ${i + 1} says ${s.threshold} of ${s.total}, share 1 says ${first.threshold} of ${first.total}`);
    const x = s.data[KEY_BYTES] ?? 0;
    if (!byX.has(x)) byX.set(x, s);
  }
  if (byX.size < first.threshold) throw new RecoveryKitError(`kit ${first.kitId} needs ${first.threshold} different shares; got ${byX.size}`);
  const key = Buffer.from(await combine([...byX.values()].map((s) => s.data)));
  if (kitIdOf(key) !== first.kitId) throw new RecoveryKitError(`the shares do not combine to kit ${first.kitId}'s key: one of them is damaged or from an older split`);
  return key;
}
