/** Strict, canonical, unpadded standard base64 as required by the age header. */
const VALID = /^[A-Za-z0-9+/]*$/;

export function b64Encode(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64').replace(/=+$/, '');
}

/** Decodes unpadded base64; throws on padding, bad characters or non-canonical encodings. */
export function b64Decode(s: string): Buffer {
  if (!VALID.test(s) || s.length % 4 === 1) throw new Error('invalid base64');
  const out = Buffer.from(s, 'base64');
  if (b64Encode(out) !== s) throw new Error('non-canonical base64');
  return out;
}
