import type net from 'node:net';
import tls from 'node:tls';

/** Normalises a SHA-256 fingerprint: `AB:CD:..` or `abcd..` -> 64 lowercase hex chars, or null if malformed. */
export function normalizePin(pin: string): string | null {
  const hex = pin.replace(/^sha256[:/]/i, '').replace(/[:\s]/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

export class PinMismatchError extends Error {
  readonly code = 'cert_pin_mismatch';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`refusing to connect: the server's TLS certificate SHA-256 ${actual} does not match the pinned ${expected}`);
    this.name = 'PinMismatchError';
  }
}

/**
 * A `createConnection` for ws/https that pins the server leaf certificate. With a pin, the pin
 * replaces CA validation (so self-signed certificates work); without one, normal CA checks apply.
 */
export function pinnedTlsConnect(pin: string): (opts: tls.ConnectionOptions) => net.Socket {
  const expected = normalizePin(pin);
  if (!expected) throw new Error(`invalid certificate pin '${pin}': expected 64 hex characters (SHA-256)`);
  return (opts) => {
    const socket = tls.connect({ ...opts, rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      const actual = normalizePin(cert.fingerprint256 ?? '') ?? 'none';
      if (actual !== expected) socket.destroy(new PinMismatchError(expected, actual));
    });
    return socket;
  };
}
