/**
 * Entry of the vault job process (see vault-process.ts): runs exactly one vault_* job that
 * arrives over the IPC channel, streams its log lines and progress back, sends the result and
 * exits. The parent aborting (or dying: the channel closes) cancels the job.
 */
import { runVaultJob } from './vault-run.js';
import type { ChildMessage, ParentMessage } from './vault-ipc.js';

const abort = new AbortController();

function send(m: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(m, undefined, {}, () => resolve());
  });
}

process.on('disconnect', () => abort.abort());
process.on('message', (m: ParentMessage) => {
  if (m.type === 'abort') {
    abort.abort();
    return;
  }
  void (async () => {
    const result = await runVaultJob({
      ...m.job,
      signal: abort.signal,
      line: (stream, text) => void send({ type: 'line', stream, text }),
      progress: (progress) => void send({ type: 'progress', progress }),
    });
    await send({ type: 'result', result });
    process.exit(0);
  })();
});
