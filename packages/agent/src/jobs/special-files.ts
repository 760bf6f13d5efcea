import { spawn } from 'node:child_process';
import path from 'node:path';

/** Sockets named in a backup's warning; all are counted. */
const NAMED = 20;
/** Bytes of one path `find` prints at most before the scan stops trusting its output. */
const MAX_PATH_BYTES = 64 * 1024;

export interface SpecialFilesScan {
  /** Paths of the first sockets found. */
  named: string[];
  count: number;
  /** True when the scan stopped early (aborted, or it could not run): the count is a lower bound. */
  partial: boolean;
}

/** restic's exclude patterns that are plain paths or names (no glob): what this scan honours. */
function plainExcludes(excludes: readonly string[]): { paths: string[]; names: string[] } {
  const paths = new Set<string>();
  const names = new Set<string>();
  for (const e of excludes) {
    if (/[*?[\\]/.test(e)) continue;
    if (e.startsWith('/')) paths.add(e.replace(/\/+$/, '') || '/');
    else if (!e.includes('/') && e !== '') names.add(e);
  }
  return { paths: [...paths], names: [...names] };
}

/**
 * `find`'s argv for the scan: start points made absolute (never read as options), plain excludes
 * pruned, then every socket printed NUL-terminated. Exported for its test.
 */
export function findArgs(paths: readonly string[], o: { excludes?: readonly string[]; oneFileSystem?: boolean }): string[] {
  const ex = plainExcludes(o.excludes ?? []);
  const prune: string[] = [];
  for (const p of ex.paths) prune.push(...(prune.length ? ['-o'] : []), '-path', p);
  for (const n of ex.names) prune.push(...(prune.length ? ['-o'] : []), '-name', n);
  return [
    '-P', ...paths.map((p) => path.resolve(p)),
    ...(o.oneFileSystem ? ['-xdev'] : []),
    ...(prune.length ? ['(', ...prune, ')', '-prune', '-o'] : []),
    '-type', 's', '-print0',
  ];
}

/**
 * Finds the Unix sockets under the backup paths: restic 0.14 skips them without a word, so the
 * job says which it did not back up. The walk is GNU `find` at the lowest CPU and I/O priority
 * (`nice -n 19`), beside restic: a C walk costs the backup far less than one in the (jitless)
 * agent. It stays on one file system when the backup does and honours plain-path and plain-name
 * excludes (a glob exclude is not applied: a socket it covers is still listed, which only errs
 * towards saying more). Output is read as a stream, keeping only the first NAMED paths.
 * Never throws; a scan that cannot run is `partial` with what it found.
 */
export function scanSpecialFiles(paths: readonly string[], o: { excludes?: readonly string[]; oneFileSystem?: boolean; signal?: AbortSignal } = {}): Promise<SpecialFilesScan> {
  const out: SpecialFilesScan = { named: [], count: 0, partial: false };
  if (paths.length === 0) return Promise.resolve(out);
  if (o.signal?.aborted) return Promise.resolve({ ...out, partial: true });
  return new Promise((resolve) => {
    let settled = false;
    const done = (partial: boolean): void => {
      if (settled) return;
      settled = true;
      if (partial) out.partial = true;
      o.signal?.removeEventListener('abort', onAbort);
      resolve(out);
    };
    const child = spawn('nice', ['-n', '19', 'find', ...findArgs(paths, o)], { stdio: ['ignore', 'pipe', 'ignore'] });
    const onAbort = (): void => {
      child.kill('SIGKILL');
      done(true);
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let rest = Buffer.alloc(0);
    child.stdout.on('data', (chunk: Buffer) => {
      let buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      for (let i = buf.indexOf(0); i >= 0; i = buf.indexOf(0)) {
        found(out, buf.subarray(0, i).toString('utf8'));
        buf = buf.subarray(i + 1);
      }
      rest = Buffer.from(buf);
      if (rest.length > MAX_PATH_BYTES) {
        child.kill('SIGKILL');
        done(true);
      }
    });
    child.on('error', () => done(true));
    // find exits 1 when some directory could not be read: restic reports those itself.
    child.on('close', (code, sig) => done(sig !== null || (code !== 0 && code !== 1)));
  });
}

function found(out: SpecialFilesScan, p: string): void {
  out.count++;
  if (out.named.length < NAMED) out.named.push(p);
}

/** The job's warning line for a scan that found sockets, or null. */
export function specialFilesWarning(s: SpecialFilesScan): string | null {
  if (s.count === 0) return null;
  const more = s.count > s.named.length ? `, and ${s.count - s.named.length} more` : '';
  return `${s.count}${s.partial ? '+' : ''} socket(s) were not backed up (restic cannot store sockets): ${s.named.join(', ')}${more}`;
}
