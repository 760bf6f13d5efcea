import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { readIfExists, writeFileAtomic } from './atomic.js';
import { StateError } from './errors.js';
import { seal, unsealOrFail } from './sealed.js';
import type { SealKind } from './sealed.js';

const SCHEDULES: SealKind = { magic: Buffer.from('RMSCH1\n', 'utf8'), aad: Buffer.from('restic-manager agent schedules v1', 'utf8') };

/**
 * Where the last-known-good `schedule.set` lives. It carries hook bodies and database passwords,
 * so it is sealed at rest like secrets.enc (AES-256-GCM under the secrets key of agent.yaml).
 */
export interface ScheduleStore {
  /**
   * The stored set as JSON (not yet validated), or null when none was stored. A plain-text
   * schedules.json left by an older agent is read, sealed and removed. Throws StateError when
   * the file cannot be opened (wrong key, tampered, not JSON).
   */
  load(): unknown;
  /** Seals and writes `set` atomically (mode 0600). */
  save(set: unknown): void;
}

/**
 * Reads the stored set without changing anything (dump-state): the sealed file, else the legacy
 * plain-text one. Null when neither exists.
 */
export function readSchedules(sealedFile: string, legacyFile: string, keyB64: string): { value: unknown; legacy: boolean } | null {
  const blob = readIfExists(sealedFile);
  if (blob) return { value: parse(sealedFile, open(sealedFile, Buffer.from(keyB64, 'base64'), blob)), legacy: false };
  const plain = readIfExists(legacyFile);
  if (plain) return { value: parse(legacyFile, plain.toString('utf8')), legacy: true };
  return null;
}

export function scheduleStore(sealedFile: string, legacyFile: string, keyB64: string, log: Logger): ScheduleStore {
  const key = Buffer.from(keyB64, 'base64');
  const save = (set: unknown): void => writeFileAtomic(sealedFile, seal(SCHEDULES, key, JSON.stringify(set)));
  return {
    save,
    load() {
      const got = readSchedules(sealedFile, legacyFile, keyB64);
      if (got?.legacy) {
        save(got.value);
        fs.rmSync(legacyFile, { force: true });
        log.info(`sealed the plain-text ${path.basename(legacyFile)} (hook bodies, database passwords) into ${path.basename(sealedFile)} and removed it`);
      } else if (got && fs.existsSync(legacyFile)) {
        // Sealed before a crash, or written back by an older agent binary: the sealed copy wins.
        fs.rmSync(legacyFile, { force: true });
      }
      return got?.value ?? null;
    },
  };
}

function open(file: string, key: Buffer, blob: Buffer): string {
  const corrupt = (why: string): StateError =>
    new StateError('state_corrupt', `${path.basename(file)} cannot be read (${why}); the server re-sends the schedules on the next connect`);
  return unsealOrFail(SCHEDULES, key, blob, corrupt, 'not a sealed schedules file');
}

function parse(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new StateError('state_corrupt', `${path.basename(file)} cannot be read (not JSON); the server re-sends the schedules on the next connect`);
  }
}
