import { execEngine, fail, ok, type Invocation, type ExecOptions } from './exec.js';
import type { ChildHandle } from './runner.js';
import type { CallOptions, LsEntry, LsPage, Result } from './types.js';

const HIGH_WATER = 1000;
const LOW_WATER = 100;

export interface EntryStream<T> {
  entries: AsyncIterable<T>;
  result: Promise<Result<{ count: number }>>;
}

/**
 * Runs a command whose stdout is one item per line and exposes the items as an async iterable
 * with back-pressure: when the consumer falls HIGH_WATER items behind, the child's stdout is
 * paused (the child then blocks on its pipe), so memory stays bounded however long the listing.
 * Leaving the loop early (break/return) stops the child; `result` is then ok with the count so far.
 * The iterable can be consumed once.
 */
export function streamCommand<T>(
  inv: Invocation,
  command: string,
  args: string[],
  parse: (line: string) => T | undefined,
  opts: CallOptions = {},
): EntryStream<T> {
  const queue: T[] = [];
  let waiter: (() => void) | undefined;
  let done = false;
  let stoppedEarly = false;
  let handle: ChildHandle | undefined;
  let paused = false;
  let count = 0;
  const wake = (): void => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };

  const execOpts: ExecOptions = {
    ...opts,
    stdoutIsData: true,
    onSpawn: (_pid, h) => {
      handle = h;
    },
    onStdoutLine: (line) => {
      if (stoppedEarly) return;
      const item = parse(line);
      if (item === undefined) return;
      queue.push(item);
      count++;
      if (queue.length >= HIGH_WATER && !paused) {
        paused = true;
        handle?.pauseOutput();
      }
      wake();
    },
  };
  const result = execEngine(inv, command, args, execOpts).then(({ run, error }): Result<{ count: number }> => {
    done = true;
    wake();
    if (error && !(stoppedEarly && (error.kind === 'interrupted' || run.signal !== null || run.exitCode === 130 || run.exitCode === 1))) return fail(error);
    return ok({ count });
  });

  async function* iterate(): AsyncGenerator<T> {
    try {
      for (;;) {
        const item = queue.shift();
        if (item !== undefined) {
          if (paused && queue.length <= LOW_WATER) {
            paused = false;
            handle?.resumeOutput();
          }
          yield item;
          continue;
        }
        if (done) return;
        await new Promise<void>((r) => (waiter = r));
      }
    } finally {
      if (!done) {
        stoppedEarly = true;
        queue.length = 0;
        if (paused) handle?.resumeOutput();
        handle?.stop();
      }
    }
  }
  return { entries: iterate(), result };
}

/** Reads one page from an entry stream, then leaves the loop (which stops the child). */
export async function readPage(stream: EntryStream<LsEntry>, offset: number, limit: number): Promise<Result<LsPage>> {
  const page: LsEntry[] = [];
  let index = 0;
  let more = false;
  for await (const e of stream.entries) {
    if (index >= offset + limit) {
      more = true;
      break;
    }
    if (index >= offset) page.push(e);
    index++;
  }
  const r = await stream.result;
  return r.ok ? ok({ entries: page, nextOffset: more ? offset + limit : null }) : r;
}
