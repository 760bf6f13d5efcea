import type { Repositories } from '../services/context.js';
import type { Db } from './db.js';

type Item = { fn: (r: Repositories) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void };

/**
 * Group commit: write units requested in the same turn of the event loop run in ONE SQLite
 * transaction, each inside its own savepoint (a failing unit rolls back alone and rejects its
 * caller; the others commit). A commit costs a WAL append — ~0.1–1 ms on a busy disk — so a
 * burst of run-now requests and job.started frames pays for one commit instead of hundreds.
 * Callers are resolved only after the commit. Never call `run` from inside a unit (it would
 * wait for the transaction it is part of).
 */
export class GroupCommit {
  private queue: Item[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly repositories: (db: Db) => Repositories,
  ) {}

  run<T>(fn: (r: Repositories) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    const settle: (() => void)[] = [];
    let trx;
    try {
      trx = await this.db.startTransaction().execute();
    } catch (e) {
      for (const it of batch) it.reject(e);
      return;
    }
    const repos = this.repositories(trx);
    try {
      for (const it of batch) {
        const sp = await trx.savepoint('unit').execute();
        try {
          const v = await it.fn(repos);
          await sp.releaseSavepoint('unit').execute();
          settle.push(() => it.resolve(v));
        } catch (e) {
          await sp.rollbackToSavepoint('unit').execute();
          await sp.releaseSavepoint('unit').execute();
          settle.push(() => it.reject(e));
        }
      }
      await trx.commit().execute();
    } catch (e) {
      await trx.rollback().execute().catch(() => undefined);
      for (const it of batch) it.reject(e);
      return;
    }
    for (const s of settle) s();
  }
}
