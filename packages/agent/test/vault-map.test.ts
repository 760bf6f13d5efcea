import { describe, expect, it } from 'vitest';
import { vaultPolicy, vaultProgress } from '../src/jobs/vault-map.js';

describe('vault job mappings', () => {
  it('maps vault backup progress to job.progress with throughput and ETA', () => {
    const p = vaultProgress({ phase: 'upload', filesTotal: 10, filesDone: 4, bytesTotal: 4000, bytesDone: 1000, bytesUploaded: 900, elapsedMs: 2000 });
    expect(p).toMatchObject({ percentDone: 0.25, filesDone: 4, totalFiles: 10, bytesDone: 1000, totalBytes: 4000, throughputBps: 500, etaSeconds: 6, elapsedSeconds: 2 });
    expect(vaultProgress({ phase: 'scan', filesTotal: 3, filesDone: 0, bytesTotal: 10, bytesDone: 0, bytesUploaded: 0, elapsedMs: 0 })).toMatchObject({ totalFiles: null, totalBytes: null, etaSeconds: null, throughputBps: null });
    expect(vaultProgress({ phase: 'done', filesTotal: 0, filesDone: 0, bytesTotal: 0, bytesDone: 0, bytesUploaded: 0, elapsedMs: 10 }).percentDone).toBe(1);
  });

  it('maps the retention policy; keep_within in ms; keep_tag is refused', () => {
    expect(vaultPolicy({ keep_daily: 7, keep_within: '1d12h' })).toEqual({ keep_daily: 7, keep_within: 36 * 3_600_000 });
    expect(vaultPolicy({ keep_last: 1, keep_tag: ['x'] })).toMatch(/keep_tag is not supported/);
  });
});
