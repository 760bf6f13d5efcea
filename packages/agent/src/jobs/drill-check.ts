import { lstat, open } from 'node:fs/promises';
import path from 'node:path';
import type { SampleFile } from './drill-sample.js';

/** Files checked at once (their reads overlap; each check holds two 1 MiB buffers). */
const PARALLEL = 4;
const CHUNK = 1 << 20;

/** Whether two files hold the same bytes, read side by side into the given buffers (no hashing). */
export async function sameBytes(a: string, b: string, x = Buffer.allocUnsafe(CHUNK), y = Buffer.allocUnsafe(CHUNK)): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(x, 0, x.length, null), fb.read(y, 0, y.length, null)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!x.subarray(0, ra.bytesRead).equals(y.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/**
 * An RFC 3339 time with up to nanoseconds (restic's mtimes) as nanoseconds since the epoch,
 * exactly (a float of milliseconds cannot hold them); null when it does not parse.
 */
export function isoToNs(s: string): bigint | null {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return null;
  const whole = Date.parse(`${m[1] ?? ''}${m[3] ?? ''}`);
  if (Number.isNaN(whole)) return null;
  return BigInt(whole) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** One file's verdict: fine (and whether its live file was compared), or why it fails. */
type Verdict = { ok: true; compared: boolean } | { ok: false; why: string };

async function checkOne(f: SampleFile, scratch: string, compareLive: boolean, x: Buffer<ArrayBuffer>, y: Buffer<ArrayBuffer>): Promise<Verdict> {
  const restored = path.join(scratch, f.path);
  const st = await lstat(restored).catch(() => null);
  if (!st?.isFile()) return { ok: false, why: `file ${f.path} was not restored` };
  if (st.size !== f.size) return { ok: false, why: `file ${f.path} was restored with ${st.size} bytes, the snapshot holds ${f.size}` };
  if (!compareLive || !f.mtime) return { ok: true, compared: false };
  // Unchanged since the snapshot: the same size and the same mtime to the nanosecond.
  const live = await lstat(f.path, { bigint: true }).catch(() => null);
  if (!live?.isFile() || live.size !== BigInt(f.size) || live.mtimeNs !== isoToNs(f.mtime)) return { ok: true, compared: false };
  if (!(await sameBytes(restored, f.path, x, y))) return { ok: false, why: `live file ${f.path} differs from the snapshot although its size and mtime are unchanged (silent corruption at the source)` };
  return { ok: true, compared: true };
}

/**
 * After `restore --verify`: every sampled file exists under `scratch` with the snapshot's size,
 * and with `compareLive` each live file whose size and mtime equal the snapshot's holds the same
 * bytes as the restored one. Returns how many live files were compared, or the first failure in
 * the sample's (path) order. Never throws.
 */
export async function checkRestored(files: readonly SampleFile[], scratch: string, compareLive: boolean): Promise<{ ok: true; compared: number } | { ok: false; why: string }> {
  const verdicts: Verdict[] = new Array<Verdict>(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    const x = Buffer.allocUnsafe(CHUNK);
    const y = Buffer.allocUnsafe(CHUNK);
    for (let i = next++; i < files.length; i = next++) {
      verdicts[i] = await checkOne(files[i]!, scratch, compareLive, x, y).catch((e: unknown) => ({ ok: false as const, why: `file ${files[i]!.path} could not be checked: ${(e as Error).message}` }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, files.length) }, worker));
  let compared = 0;
  for (const v of verdicts) {
    if (!v.ok) return v;
    if (v.compared) compared++;
  }
  return { ok: true, compared };
}
