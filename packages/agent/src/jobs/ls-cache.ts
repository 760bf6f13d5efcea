/** One direct child of a listed directory, as `snapshot.ls.result` carries it. */
export interface LsChild {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'dev' | 'chardev' | 'fifo' | 'socket' | 'other';
  size: number | null;
  mtime: string | null;
  mode: number | null;
}

/** A directory's full listing: its children in restic's order. */
export interface DirListing {
  children: LsChild[];
}

/** Children kept at most; a larger directory is streamed for every page instead. */
export const LS_CACHE_MAX_ENTRIES = 250_000;
/** How long an unused listing is kept. */
export const LS_CACHE_TTL_MS = 10 * 60_000;

/**
 * The directory being browsed, kept in memory (issue 22: paging through a 100,000-entry directory
 * restarted `restic ls` for every page, 2–3 s each). One listing at a time — the next directory
 * replaces it — and dropped after LS_CACHE_TTL_MS unused, so the idle agent holds nothing. Keys
 * name the repository, the snapshot and the directory; a snapshot never changes, so a listing
 * never goes stale.
 */
export class LsCache {
  private entry: { key: string; listing: DirListing; timer: NodeJS.Timeout } | null = null;

  constructor(private readonly ttlMs = LS_CACHE_TTL_MS, private readonly maxEntries = LS_CACHE_MAX_ENTRIES) {}

  get(key: string): DirListing | null {
    if (this.entry?.key !== key) return null;
    this.entry.timer.refresh();
    return this.entry.listing;
  }

  /** Keeps a complete listing (not one over the entry cap). */
  set(key: string, listing: DirListing): void {
    if (listing.children.length > this.maxEntries) return;
    this.clear();
    const timer = setTimeout(() => this.clear(), this.ttlMs);
    timer.unref();
    this.entry = { key, listing, timer };
  }

  clear(): void {
    if (this.entry) clearTimeout(this.entry.timer);
    this.entry = null;
  }

  /** Whether a listing of this many children would be kept. */
  fits(n: number): boolean {
    return n <= this.maxEntries;
  }
}
