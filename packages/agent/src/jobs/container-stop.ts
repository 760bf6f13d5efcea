import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { writeFileAtomic } from '../state/atomic.js';
import { dockerSocketPath, socketGet } from '../dumps/docker.js';
import type { Get } from '../dumps/docker.js';
import { resolveStopList } from './container-select.js';

/**
 * Containers stopped around a backup (`BackupArgs.stop_containers`, docs/databases.md
 * "Stopping containers around a backup"): the entries (names, ids, `label:` selectors) are
 * resolved to concrete names at backup time (container-select.ts), stopped one by one in that
 * order (list a container before the ones it depends on), started again in the reverse order
 * afterwards — also when the backup failed or was cancelled. Each stopped name is recorded in a
 * state file before it is stopped, so an agent killed meanwhile starts them at its next start
 * (`sweepStoppedContainers`). Stops and starts use the docker CLI (DOCKER_HOST is passed on);
 * label selectors are listed through the Engine API socket discovery uses. Errors are values.
 */

export type Line = (text: string) => void;

/** Runs `docker <args>`; resolves with its exit status and last stderr line. */
export function dockerCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ok: boolean; error: string }> {
  return new Promise((resolve) => {
    let err = '';
    const c = spawn('docker', args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    c.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < 8192) err += d;
    });
    c.on('error', (e) => resolve({ ok: false, error: `docker: ${e.message}` }));
    c.on('close', (code) => resolve({ ok: code === 0, error: err.trim().split('\n').pop() ?? `exit status ${code ?? '?'}` }));
  });
}

export type Docker = typeof dockerCli;

function readState(file: string): string[] {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export interface StoppedContainers {
  /** The containers this run stopped (in stop order). */
  stopped: string[];
  /** Starts them in reverse order and logs each one's downtime; never throws. */
  startAll(): Promise<void>;
}

/**
 * Resolves `entries` and stops the containers in order. A container that does not exist (or will
 * not stop) and a label selector matching nothing are warnings in the job log, and the others go
 * on. The state file lists what is stopped at every moment, by concrete name.
 */
export async function stopContainers(entries: readonly string[], stateFile: string, line: Line, docker: Docker = dockerCli, get?: Get): Promise<StoppedContainers> {
  const names = await resolveStopList(entries, () => get ?? socketGet(dockerSocketPath()), line);
  const stopped: { name: string; at: number }[] = [];
  const record = (): void => writeFileAtomic(stateFile, JSON.stringify([...readState(stateFile).filter((n) => !names.includes(n)), ...stopped.map((s) => s.name)]));
  for (const name of names) {
    // Recorded first: an agent killed during `docker stop` still starts it again.
    stopped.push({ name, at: Date.now() });
    record();
    const r = await docker(['stop', name]); // the container's own stop timeout (docker run --stop-timeout; default 10 s)
    if (r.ok) line(`stopped container ${name}`);
    else {
      stopped.pop();
      record();
      line(`warning: cannot stop container ${name} (${r.error}); going on without it`);
    }
  }
  return {
    stopped: stopped.map((s) => s.name),
    async startAll() {
      for (const s of [...stopped].reverse()) {
        const r = await docker(['start', s.name]);
        const secs = ((Date.now() - s.at) / 1000).toFixed(1);
        line(r.ok ? `started container ${s.name} again (down ${secs} s)` : `warning: cannot start container ${s.name} again (${r.error}); it has been down ${secs} s`);
        if (r.ok) writeFileAtomic(stateFile, JSON.stringify(readState(stateFile).filter((n) => n !== s.name)));
      }
    },
  };
}

/** At agent start: starts the containers a killed agent left stopped, then clears the list. */
export async function sweepStoppedContainers(stateFile: string, line: Line, docker: Docker = dockerCli): Promise<string[]> {
  const names = readState(stateFile);
  const left: string[] = [];
  for (const name of [...names].reverse()) {
    const r = await docker(['start', name]);
    line(r.ok ? `started container ${name}, left stopped by a backup the agent did not finish` : `cannot start container ${name} left stopped by an unfinished backup: ${r.error}`);
    if (!r.ok && !/No such container/i.test(r.error)) left.push(name);
  }
  if (names.length > 0) {
    if (left.length > 0) writeFileAtomic(stateFile, JSON.stringify(left.reverse()));
    else fs.rmSync(stateFile, { force: true });
  }
  return names;
}
