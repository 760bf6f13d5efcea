/**
 * Explicit garbage collection for the backup's hot loop. node:crypto returns every
 * ciphertext piece in a fresh buffer, and V8 frees dead buffers only once external
 * memory has grown by tens of MB since its last collection, so without help a backup
 * carries 30–60 MB of dead ciphertext. The pieces die young (they are written and
 * dropped within a few MB of output), so a minor collection (scavenge) frees them: it
 * costs a fraction of a full mark-compact, which took ~0.8 s of main-thread time per GB
 * (bench:vault). The packer asks for one every GC_EVERY bytes of output.
 * Collecting more often (every 1-4 MB) measured worse, not better: pieces still queued
 * for the disk survive two scavenges and are promoted, where only a full GC frees them.
 *
 * `gc` comes from V8's --expose-gc flag, set at run time: it only adds `gc` to contexts
 * created afterwards (here, one node:vm context), not to the program's own global.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export const GC_EVERY = 8 * 1024 * 1024;


type GcFn = (opts?: { type: 'minor' | 'major' }) => void;
let gcFn: GcFn | null | undefined;

/** Runs a minor V8 collection (scavenge) on this thread; a no-op if the runtime does not allow it. */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    const global = (globalThis as { gc?: GcFn }).gc;
    try {
      if (global) gcFn = global;
      else {
        v8.setFlagsFromString('--expose-gc');
        gcFn = vm.runInNewContext('gc') as GcFn;
      }
    } catch {
      gcFn = null;
    }
  }
  gcFn?.({ type: 'minor' });
}
