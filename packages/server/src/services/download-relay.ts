import type { DownloadReady, DownloadStart } from '@restic-manager/protocol';
import type { DownloadResult } from './download-streams.js';

/** What a download asks of the agent (the agent's `download.start` without its stream fields). */
export type DownloadRequest = Pick<DownloadStart, 'snapshot_id' | 'path' | 'format' | 'max_bytes'>;

/** An opened download: what the agent announced, and the bytes as the browser reads them. */
export interface OpenedDownload {
  ready: DownloadReady;
  body: ReadableStream<Uint8Array>;
}

/**
 * Downloads through the replica that holds the host's agent (docs/scale-out.md "Downloads through
 * another replica"). `open` keeps DownloadStreams.open's contract: it resolves with the first
 * bytes (or a clean end), so a refusal is still an HTTP error; it throws DomainError
 * (agent_unavailable when the holding replica cannot be reached, or the holder's own refusal
 * with its code and message unchanged); `done` is called exactly once when the download ended.
 * Cancelling `body` cancels the download on the agent.
 */
export interface DownloadRelay {
  open(host: { id: string; name: string }, req: DownloadRequest, done: (r: DownloadResult) => void): Promise<OpenedDownload>;
}

/** Checks the token of a request from another replica (cluster/relay-token.ts). Never throws. */
export interface ReplicaTokenCheck {
  verify(token: string | null | undefined, method: string, target: string): boolean;
}
