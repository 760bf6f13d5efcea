import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * A stdin source that yields `chunk` bytes every `everyMs` until `end()` is called, so a backup
 * stays running (holding its lock) for as long as a test needs. `random` data does not deduplicate.
 * `pushed()` counts the bytes handed to the stream so far: a stream only asks for more when its
 * reader has taken what it had, so this tells how much the backup has read (within one chunk).
 */
export function dripStream(chunk = 64 * 1024, everyMs = 20, random = false): { stream: Readable; end(): void; pushed(): number } {
  let ended = false;
  let n = 0;
  let pushed = 0;
  const stream = new Readable({
    read() {
      if (ended) {
        this.push(null);
        return;
      }
      setTimeout(() => {
        if (ended) this.push(null);
        else {
          pushed += chunk;
          this.push(random ? randomBytes(chunk) : Buffer.alloc(chunk, n++ % 251));
        }
      }, everyMs);
    },
  });
  return { stream, end: () => (ended = true), pushed: () => pushed };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
