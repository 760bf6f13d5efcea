import type { RepositoryBackend } from '@restic-manager/protocol';
import { RepositoryBackend as BackendSchema, SECRET_FIELDS, backendOfUrl } from '@restic-manager/protocol';
import { bare, opt } from './forms.js';

/*
 * The repository form's credential fields, per backend: one table drives both the inputs the
 * page renders (`credentials.<field>`) and how the posted form becomes BackendCredentials. Secret
 * inputs are never pre-filled; left empty on an edit they keep the stored value.
 */
export type CredentialInput = 'text' | 'textarea' | 'checkbox' | 'number' | 'options';

export interface CredentialField {
  name: string;
  label: string;
  input: CredentialInput;
  hint?: string;
}

export const CREDENTIAL_FIELDS: Readonly<Record<RepositoryBackend, readonly CredentialField[]>> = {
  local: [],
  rest: [
    { name: 'username', label: 'REST server user', input: 'text', hint: 'The htpasswd user (optional).' },
    { name: 'password', label: 'REST server password', input: 'text' },
  ],
  s3: [
    { name: 'access_key_id', label: 'Access key id', input: 'text' },
    { name: 'secret_access_key', label: 'Secret access key', input: 'text' },
    { name: 'session_token', label: 'Session token', input: 'text', hint: 'Only for temporary credentials.' },
    { name: 'region', label: 'Region', input: 'text', hint: 'e.g. eu-west-1' },
    { name: 'path_style', label: 'Path-style bucket addressing (MinIO and most self-hosted S3)', input: 'checkbox' },
  ],
  b2: [
    { name: 'account_id', label: 'Account id (key id)', input: 'text' },
    { name: 'account_key', label: 'Application key', input: 'text' },
  ],
  azure: [
    { name: 'account_name', label: 'Storage account name', input: 'text' },
    { name: 'account_key', label: 'Account key', input: 'text', hint: 'Give the account key or a SAS token.' },
    { name: 'sas_token', label: 'SAS token', input: 'text' },
  ],
  gcs: [
    { name: 'project_id', label: 'Project id', input: 'text' },
    { name: 'service_account_json', label: 'Service-account key (JSON)', input: 'textarea' },
  ],
  sftp: [
    { name: 'private_key', label: 'Private key (unencrypted)', input: 'textarea' },
    { name: 'known_hosts', label: 'known_hosts line(s)', input: 'textarea', hint: 'ssh-keyscan output: host keys are always checked.' },
    { name: 'port', label: 'Port', input: 'number' },
  ],
  rclone: [
    { name: 'remote_type', label: 'rclone backend type', input: 'text', hint: 'e.g. webdav, drive' },
    { name: 'options', label: 'Remote options', input: 'options', hint: 'One key = value per line (all values are kept secret).' },
  ],
};

export const isSecretField = (backend: RepositoryBackend, name: string): boolean => SECRET_FIELDS[backend].includes(name);

/**
 * The `credentials` of a posted repository form for `backend` (the URL's): only that backend's
 * fields, empty ones left out. Null when the backend is unknown or nothing was entered for a
 * backend without required fields. Values are not validated here: the REST schema does that.
 */
export function credentialsFromForm(backend: RepositoryBackend | null, raw: unknown): Record<string, unknown> | undefined {
  if (!backend) return undefined;
  const f = (raw && typeof raw === 'object' ? raw : bare()) as Record<string, unknown>;
  const out: Record<string, unknown> = { backend };
  let any = false;
  for (const field of CREDENTIAL_FIELDS[backend]) {
    const v = f[field.name];
    if (field.input === 'checkbox') {
      if (v !== undefined) {
        out[field.name] = v === 'on' || v === 'true';
        any = true;
      }
      continue;
    }
    const s = field.input === 'textarea' || field.input === 'options' ? (typeof v === 'string' && v.trim() !== '' ? v : undefined) : opt(v);
    if (s === undefined) continue;
    any = true;
    if (field.input === 'number') out[field.name] = /^\d+$/.test(s) ? Number(s) : s;
    else if (field.input === 'options') out[field.name] = optionsOf(s);
    else out[field.name] = field.input === 'textarea' ? s.replace(/\r\n/g, '\n') : s;
  }
  return any || backend === 'local' || backend === 'rest' ? out : undefined;
}

/** "a = 1\nb=2" -> { a: '1', b: '2' } (a line without `=` becomes a key with an empty value, which the schema refuses). */
function optionsOf(text: string): Record<string, string> {
  const out = bare() as Record<string, string>;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const i = line.indexOf('=');
    out[(i < 0 ? line : line.slice(0, i)).trim()] = i < 0 ? '' : line.slice(i + 1).trim();
  }
  return { ...out };
}

/** The backend a form's URL names, or null. */
export const backendOfForm = (url: unknown): RepositoryBackend | null => (typeof url === 'string' ? backendOfUrl(url.trim()) : null);

export const BACKENDS: readonly RepositoryBackend[] = BackendSchema.options;
