/** `manifest.json` of a control-plane backup: what the snapshot holds and how to open it. */
export const MANIFEST_FORMAT = 'restic-manager-control-plane/1';
export const MANIFEST_FILE = 'manifest.json';
/** The restic tag of every control-plane snapshot. */
export const SNAPSHOT_TAG = 'restic-manager-control-plane';

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  created_at: string;
  server_version: string;
  store: 'sqlite' | 'postgres';
  /** The database file (or its `.age`) inside the snapshot. */
  database_file: string;
  /** The key file (or its `.age`) inside the snapshot; null = left out (--without-key). */
  key_file: string | null;
  /** Kit id of the key (recovery-kit), to check a key given at restore. */
  kit_id: string;
  /** age recipients the files were encrypted to; empty = plain (the restic password protects them). */
  encrypted_to: string[];
}

/** Parses and checks a manifest; throws naming the field at fault. */
export function parseManifest(text: string): Manifest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${MANIFEST_FILE} is not JSON: this snapshot is not a restic-manager control-plane backup`);
  }
  const m = v as Partial<Manifest>;
  if (typeof m !== 'object' || m === null || m.format !== MANIFEST_FORMAT) throw new Error(`${MANIFEST_FILE}: format is not ${MANIFEST_FORMAT}`);
  if (m.store !== 'sqlite' && m.store !== 'postgres') throw new Error(`${MANIFEST_FILE}: store must be sqlite or postgres`);
  const safe = (f: unknown): boolean => typeof f === 'string' && /^[a-z0-9.-]{1,64}$/.test(f);
  if (!safe(m.database_file)) throw new Error(`${MANIFEST_FILE}: database_file is missing or not a plain file name`);
  if (m.key_file !== null && !safe(m.key_file)) throw new Error(`${MANIFEST_FILE}: key_file is not a plain file name`);
  if (typeof m.kit_id !== 'string' || !/^[0-9A-F]{8}$/.test(m.kit_id)) throw new Error(`${MANIFEST_FILE}: kit_id is not 8 hex digits`);
  if (!Array.isArray(m.encrypted_to) || !m.encrypted_to.every((r) => typeof r === 'string')) throw new Error(`${MANIFEST_FILE}: encrypted_to must be a list of recipients`);
  return m as Manifest;
}
