/**
 * age X25519 recipients (`age1…`) and identities (`AGE-SECRET-KEY-1…`) on node:crypto.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { bech32Decode, bech32Encode } from './bech32.js';
import { b64Decode, b64Encode } from './base64.js';
import { aeadOpen, aeadSeal, hkdf } from './primitives.js';
import type { Stanza } from './header.js';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const WRAP_INFO = 'age-encryption.org/v1/X25519';
const ZERO_NONCE = Buffer.alloc(12);

function privateKeyObject(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}
function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}
function rawPublic(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}
function rawPrivate(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
}

/** X25519(secret, point); null when the result is all zeros (low-order point). */
function x25519(secret: KeyObject, point: Uint8Array): Buffer | null {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: secret, publicKey: publicKeyObject(point) });
  } catch {
    return null;
  }
  return shared.every((b) => b === 0) ? null : shared;
}

/** A public key that file keys are wrapped to. */
export class X25519Recipient {
  readonly publicKey: Buffer;
  private readonly keyObject: KeyObject;
  constructor(publicKey: Uint8Array) {
    if (publicKey.length !== 32) throw new Error('X25519 recipient must be 32 bytes');
    this.publicKey = Buffer.from(publicKey);
    this.keyObject = publicKeyObject(publicKey);
  }
  /** Parses `age1…`; throws a message naming the problem. */
  static parse(s: string): X25519Recipient {
    let decoded: { hrp: string; data: Uint8Array };
    try {
      decoded = bech32Decode(s.trim());
    } catch (e) {
      throw new Error(`invalid age recipient: ${(e as Error).message}`, { cause: e });
    }
    if (decoded.hrp !== 'age' || decoded.data.length !== 32) throw new Error('invalid age recipient: not an age1… X25519 key');
    return new X25519Recipient(decoded.data);
  }
  toString(): string {
    return bech32Encode('age', this.publicKey);
  }
  wrap(fileKey: Uint8Array): Stanza {
    const { publicKey, privateKey } = generateKeyPairSync('x25519');
    const share = rawPublic(publicKey);
    const shared = diffieHellman({ privateKey, publicKey: this.keyObject });
    const key = hkdf(shared, Buffer.concat([share, this.publicKey]), WRAP_INFO, 32);
    return { type: 'X25519', args: [b64Encode(share)], body: aeadSeal(key, ZERO_NONCE, fileKey) };
  }
}

/** A secret key that unwraps X25519 stanzas. */
export class X25519Identity {
  private readonly secret: KeyObject;
  readonly recipient: X25519Recipient;
  private constructor(secret: KeyObject) {
    this.secret = secret;
    this.recipient = new X25519Recipient(rawPublic(createPublicKey(secret)));
  }
  static generate(): X25519Identity {
    return new X25519Identity(generateKeyPairSync('x25519').privateKey);
  }
  /** Parses `AGE-SECRET-KEY-1…`; the error never contains the key. */
  static parse(s: string): X25519Identity {
    let decoded: { hrp: string; data: Uint8Array };
    try {
      decoded = bech32Decode(s.trim());
    } catch {
      throw new Error('invalid age identity (expected AGE-SECRET-KEY-1…)');
    }
    if (decoded.hrp !== 'age-secret-key-' || decoded.data.length !== 32) throw new Error('invalid age identity (expected AGE-SECRET-KEY-1…)');
    return new X25519Identity(privateKeyObject(decoded.data));
  }
  toString(): string {
    return bech32Encode('age-secret-key-', rawPrivate(this.secret)).toUpperCase();
  }
  /**
   * Returns the file key if `stanza` is an X25519 stanza for this identity, null if it
   * is for someone else (or another type); throws if an X25519 stanza is malformed.
   */
  unwrap(stanza: Stanza): Buffer | null {
    if (stanza.type !== 'X25519') return null;
    if (stanza.args.length !== 1) throw new Error('age header: X25519 stanza needs exactly one argument');
    let share: Buffer;
    try {
      share = b64Decode(stanza.args[0]!);
    } catch {
      throw new Error('age header: malformed X25519 share');
    }
    if (share.length !== 32) throw new Error('age header: X25519 share must be 32 bytes');
    if (stanza.body.length !== 32) throw new Error('age header: X25519 body must be 32 bytes');
    const shared = x25519(this.secret, share);
    if (shared === null) throw new Error('age header: X25519 share is a low-order point');
    const key = hkdf(shared, Buffer.concat([share, this.recipient.publicKey]), WRAP_INFO, 32);
    return aeadOpen(key, ZERO_NONCE, stanza.body);
  }
}
