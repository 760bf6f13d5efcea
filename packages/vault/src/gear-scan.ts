/**
 * The chunker's gear loop compiled to WebAssembly (source: gear-scan.wat, checked
 * against these bytes by the unit tests). The data must live in the module's memory,
 * so a chunker that uses it owns a buffer there (see Chunker.buffer).
 */

const MODULE_BASE64 =
  'AGFzbQEAAAABCAFgA39/fwF/AwIBAAUDAQABBgYBfwFBAAsHEgMDbWVtAgABaAMABHNjYW4AAApNAUsBAX8jACEDAkAgACABTw0AA0AgA0EBdCAALQAAQQJ0KAIAaiIDIAJxRQRAIAMkACAAQQFqDwsgAEEBaiIAIAFJDQALCyADJABBfws=';

/** The gear table occupies the first 1024 bytes of the memory; data starts here. */
const DATA_OFFSET = 1024;
const PAGE = 65536;

export function gearScanModuleBytes(): Buffer {
  return Buffer.from(MODULE_BASE64, 'base64');
}

export interface GearScanner {
  /** `bytes` bytes of the module's memory, for the data to scan. */
  readonly buffer: Buffer;
  /**
   * Rolls `h` over `buffer[i, e)`; returns the index (in `buffer`) after the first byte
   * where `(h & mask) === 0`, or -1, and the hash after the last byte rolled.
   */
  scan(h: number, i: number, e: number, mask: number): { cut: number; h: number };
}

interface Exports {
  mem: { buffer: ArrayBuffer; grow(pages: number): number };
  h: { value: number };
  scan(i: number, e: number, mask: number): number;
}

/** The part of the WebAssembly global used here (the project's TypeScript lib has no DOM types). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasm = (globalThis as { WebAssembly?: Wasm }).WebAssembly;

let compiled: object | null | undefined;

/** A scanner with a `bytes`-byte buffer, or null where WebAssembly is unavailable (e.g. node --jitless). */
export function gearScanner(gear: Int32Array, bytes: number): GearScanner | null {
  if (compiled === undefined) {
    try {
      compiled = wasm ? new wasm.Module(gearScanModuleBytes()) : null;
    } catch {
      compiled = null;
    }
  }
  if (!compiled) return null;
  const x = new wasm!.Instance(compiled, {}).exports as Exports;
  const need = Math.ceil((DATA_OFFSET + bytes) / PAGE);
  x.mem.grow(need - x.mem.buffer.byteLength / PAGE);
  new Int32Array(x.mem.buffer, 0, 256).set(gear);
  const buffer = Buffer.from(x.mem.buffer, DATA_OFFSET, bytes);
  const result = { cut: -1, h: 0 };
  return {
    buffer,
    scan(h, i, e, mask) {
      x.h.value = h;
      const r = x.scan(DATA_OFFSET + i, DATA_OFFSET + e, mask);
      result.cut = r < 0 ? -1 : r - DATA_OFFSET;
      result.h = x.h.value;
      return result;
    },
  };
}
