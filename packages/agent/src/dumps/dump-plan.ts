import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DatabaseTarget } from '@restic-manager/protocol';
import { dumpCommand } from './commands.js';
import type { Resolve, ToolCommand } from './commands.js';
import { catCommand, mongoConfigText, mongoDumpCommand, redisRdbCommand, sqliteBackupCommand } from './more-engines.js';
import { lookupUser } from '../jobs/users.js';

/**
 * How one database is dumped: `cmd` writes the dump to stdout (streamed into restic). When
 * `stage` is set it runs first and writes a consistent copy into a private directory that `cmd`
 * then streams (Redis, SQLite). `dispose()` removes the private directory (staged copy, MongoDB
 * password file); it is safe to call twice.
 */
export interface DumpPlan {
  cmd: ToolCommand;
  stage: ToolCommand | null;
  /** Names the tool in errors and log lines: pg_dump, mariadb-dump, redis-cli, sqlite3, mongodump. */
  label: string;
  dispose(): void;
}

/** A 0700 directory only the agent (or the `run_as` user, its owner then) can enter. */
export function privateDir(runAs: string | undefined, prefix = 'rm-dump-'): { dir: string; dispose(): void } | { error: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const dispose = (): void => rmSync(dir, { recursive: true, force: true });
  if (runAs) {
    const u = lookupUser(runAs);
    if (!u) {
      dispose();
      return { error: `run_as user '${runAs}' does not exist on this host` };
    }
    chownSync(dir, u.uid, u.gid);
  }
  return { dir, dispose };
}

export function planDump(t: DatabaseTarget, database: string, resolve: Resolve): DumpPlan | { error: string } {
  const none = (): void => undefined;
  if (t.engine === 'redis' || t.engine === 'sqlite') {
    const p = privateDir(t.run_as);
    if ('error' in p) return p;
    const file = path.join(p.dir, t.engine === 'redis' ? 'dump.rdb' : 'copy.db');
    const stage = t.engine === 'redis' ? redisRdbCommand(t, file, resolve) : sqliteBackupCommand(t, file, resolve);
    return { cmd: catCommand(file, t), stage, label: t.engine === 'redis' ? 'redis-cli' : 'sqlite3', dispose: p.dispose };
  }
  if (t.engine === 'mongodb') {
    if (!t.password) return { cmd: mongoDumpCommand(t, database, null, resolve), stage: null, label: 'mongodump', dispose: none };
    const p = privateDir(t.run_as);
    if ('error' in p) return p;
    const config = path.join(p.dir, 'mongo.yaml');
    writeFileSync(config, mongoConfigText(t.password), { mode: 0o600 });
    if (t.run_as) {
      const u = lookupUser(t.run_as);
      if (u) chownSync(config, u.uid, u.gid);
    }
    return { cmd: mongoDumpCommand(t, database, config, resolve), stage: null, label: 'mongodump', dispose: p.dispose };
  }
  return { cmd: dumpCommand(t, database, resolve), stage: null, label: t.engine === 'postgres' ? 'pg_dump' : 'mariadb-dump', dispose: none };
}
