/**
 * Explicit garbage collection for the backup's hot loop. node:crypto returns every
 * ciphertext piece in a fresh buffer, and V8 frees dead buffers only once external
 * memory has grown by tens of MB since its last collection, so without help a backup
 * carries 30–60 MB of dead ciphertext. The pieces die young (they are written and
 * dropped within a few MB of output), so a minor collection (scavenge) frees them: it
 * costs a fraction of a full mark-compact, which took ~0.8 s of main-thread time per GB
 * (bench:vault). The packer asks for one every GC_EVERY bytes of output.
 *
 * While chunks stream through, the main thread also keeps V8's young generation at its
 * start size (`holdYoungGeneration`): V8 otherwise doubles it up to 2 x 16 MB in
 * response to the packer's allocation rate, which buys nothing here.
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

/**
 * Stops V8 growing this isolate's young generation until the returned function is
 * called (V8 reads --semi-space-growth-factor each time it would grow; 2 is its default).
 */
export function holdYoungGeneration(): () => void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  return () => v8.setFlagsFromString('--semi-space-growth-factor=2');
}
