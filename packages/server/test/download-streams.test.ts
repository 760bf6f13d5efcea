import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '@restic-manager/protocol';
import { encodeDownloadChunk } from '@restic-manager/protocol';
import { DOWNLOAD_WINDOW, DownloadStreams } from '../src/services/download-streams.js';
import type { DownloadResult } from '../src/services/download-streams.js';

/** An agent link that records what the server sends and is always connected. */
function link() {
  const sent: ServerMessage[] = [];
  return { sent, agents: { send: (_h: string, m: ServerMessage) => (sent.push(m), true), isConnected: () => true, disconnect: () => undefined, connectedCount: () => 1 } };
}

const start = async (s: DownloadStreams, sent: ServerMessage[], results: DownloadResult[]) => {
  const opening = s.open('h1', { snapshot_id: 'a'.repeat(64), path: '/x', format: 'raw', max_bytes: 0 }, (r) => results.push(r));
  const id = (sent.find((m) => m.type === 'download.start') as { request_id: string }).request_id;
  s.ready('h1', { type: 'download.ready', request_id: id, kind: 'file', size: 1000, entries: 1 });
  return { id, opening };
};

describe('DownloadStreams flow control', () => {
  it('a chunk beyond the granted window fails the download and tells the agent to stop', async () => {
    const { sent, agents } = link();
    const s = new DownloadStreams(agents, { readyMs: 1000, stallMs: 1000 });
    const results: DownloadResult[] = [];
    const { id, opening } = await start(s, sent, results);
    // Nobody reads the body: no credit comes back, so the window is all the agent may send.
    for (let i = 0; i < DOWNLOAD_WINDOW; i++) expect(s.chunk('h1', encodeDownloadChunk(id, i, [Buffer.alloc(10)], 10))).toBeNull();
    await opening;
    expect(s.chunk('h1', encodeDownloadChunk(id, DOWNLOAD_WINDOW, [Buffer.alloc(10)], 10))).toBe('download chunk without credit');
    expect(sent.at(-1)).toEqual({ type: 'download.cancel', request_id: id });
    expect(results).toEqual([{ outcome: 'failed', bytes: 0, error: 'the agent sent more chunks than it was granted' }]);
  });

  it('credit follows reading: the agent is never granted more than the window beyond what the reader took', async () => {
    const { sent, agents } = link();
    const s = new DownloadStreams(agents, { readyMs: 1000, stallMs: 1000 });
    const results: DownloadResult[] = [];
    const opening = s.open('h1', { snapshot_id: 'a'.repeat(64), path: '/x', format: 'raw', max_bytes: 0 }, (r) => results.push(r));
    const id = (sent.find((m) => m.type === 'download.start') as { request_id: string }).request_id;
    const total = 3 * DOWNLOAD_WINDOW + 5;
    s.ready('h1', { type: 'download.ready', request_id: id, kind: 'file', size: total * 10, entries: 1 });
    const granted = () => DOWNLOAD_WINDOW + sent.reduce((n, m) => n + (m.type === 'download.credit' ? m.chunks : 0), 0);
    let seq = 0;
    // A greedy agent: everything its credit allows, at once.
    const send = () => {
      while (seq < total && seq < granted()) expect(s.chunk('h1', encodeDownloadChunk(id, seq++, [Buffer.alloc(10, seq)], 10))).toBeNull();
      if (seq === total && !sent.some((m) => m.type === 'download.cancel')) s.ended('h1', { type: 'download.end', request_id: id, bytes: total * 10, chunks: total, error: null, error_kind: null, size: null });
    };
    send();
    const reader = (await opening).body.getReader();
    let read = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      read++;
      expect(Buffer.from(value).equals(Buffer.alloc(10, read))).toBe(true);
      expect(granted()).toBeLessThanOrEqual(read + DOWNLOAD_WINDOW);
      if (seq < total) send();
    }
    expect(read).toBe(total);
    expect(results).toEqual([{ outcome: 'completed', bytes: total * 10, error: null }]);
  });

  it('a chunk for another host, or for no download, is refused without touching the download', async () => {
    const { sent, agents } = link();
    const s = new DownloadStreams(agents, { readyMs: 1000, stallMs: 1000 });
    const results: DownloadResult[] = [];
    const { id } = await start(s, sent, results);
    expect(s.chunk('h2', encodeDownloadChunk(id, 0, [Buffer.alloc(10)], 10))).toBe('download chunk for no open download of this host');
    expect(s.chunk('h1', encodeDownloadChunk('other', 0, [Buffer.alloc(10)], 10))).toBe('download chunk for no open download of this host');
    expect(s.chunk('h1', encodeDownloadChunk(id, 0, [Buffer.alloc(10)], 10))).toBeNull();
    expect(results).toEqual([]);
    s.hostGone('h1');
    expect(results).toEqual([{ outcome: 'failed', bytes: 0, error: 'the agent went offline during the download' }]);
  });

  it('an agent that never answers is given up after the ready timeout', async () => {
    const { agents } = link();
    const s = new DownloadStreams(agents, { readyMs: 50, stallMs: 1000 });
    const results: DownloadResult[] = [];
    await expect(s.open('h1', { snapshot_id: 'a'.repeat(64), path: '/x', format: 'tar', max_bytes: 0 }, (r) => results.push(r))).rejects.toThrow('the agent did not start the download within 0 s (it may be busy, or older than this server and unable to download)');
    expect(results[0]?.outcome).toBe('refused');
    expect(s.openCount()).toBe(0);
  });
});
