import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/** A random URL-safe token of `bytes` entropy (default 32). */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** The generated repo password of spec §6.3: 24 random bytes, URL-safe (32 chars). */
export const generatePassword = (): string => randomBytes(24).toString('base64url');

/**
 * SHA-256 of a high-entropy token (bearer, session, enrollment). Tokens are 256-bit random, so
 * a fast hash is enough; the database never holds a usable token.
 */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** argon2id, OWASP minimum: m=19 MiB, t=2, p=1 (argon2id is the library default algorithm). */
const ARGON = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => hash(password, ARGON);

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A valid hash of a random password, verified against when the user does not exist (equal timing). */
let dummy: Promise<string> | undefined;
export const dummyHash = (): Promise<string> => (dummy ??= hashPassword(randomToken()));
