/**
 * A quick proof that the engine can run on this host (`restic-manager-agent version` uses it):
 * its native parts load and work, and its S3 client is installed. Importing the package alone
 * proves little — better-sqlite3 loads its addon on the first `new Database()` and the AWS SDK
 * loads with the first S3 storage.
 */
import Database from 'better-sqlite3';
import { ChunkCompressor } from './zstd-raw.js';

/**
 * Opens an in-memory SQLite database, compresses a few bytes with zstd and loads the S3 client.
 * Resolves when all of that works; rejects with the loader's error otherwise (e.g. a missing
 * package, or "was compiled against a different Node.js version" after a Node.js upgrade).
 */
export async function selfTest(): Promise<void> {
  const db = new Database(':memory:');
  try {
    db.prepare('SELECT 1').get();
  } finally {
    db.close();
  }
  const frame = new ChunkCompressor(3, 4096).compress(new Uint8Array(4096).fill(7));
  if (frame.length === 0 || frame.length >= 4096) throw new Error(`zstd produced a ${frame.length}-byte frame for 4096 equal bytes`);
  await import('./storage/s3.js');
}
