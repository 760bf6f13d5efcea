import type { Connection } from '../types.js';
import { BackendConfigError, type JobFiles } from './files.js';
import type { CredentialsOf } from './types.js';

/*
 * Cloud object stores: the keys go to restic's environment under the names restic reads
 * (restic docs, "Preparing a new repository"); a key file goes into the job directory.
 */

export function s3Part(c: CredentialsOf<'s3'>): Partial<Connection> {
  return {
    accessKeyId: c.access_key_id,
    secretAccessKey: c.secret_access_key,
    ...(c.session_token ? { sessionToken: c.session_token } : {}),
    ...(c.region ? { region: c.region } : {}),
    ...(c.path_style ? { options: ['s3.bucket-lookup=path'] } : {}),
  };
}

export function b2Part(c: CredentialsOf<'b2'>): Partial<Connection> {
  return { env: { B2_ACCOUNT_ID: c.account_id, B2_ACCOUNT_KEY: c.account_key }, secrets: [c.account_id, c.account_key] };
}

export function azurePart(c: CredentialsOf<'azure'>): Partial<Connection> {
  if (!c.account_key === !c.sas_token) throw new BackendConfigError('credentials.account_key', 'give exactly one of account_key and sas_token');
  const env: Record<string, string> = { AZURE_ACCOUNT_NAME: c.account_name };
  if (c.account_key) env.AZURE_ACCOUNT_KEY = c.account_key;
  if (c.sas_token) env.AZURE_ACCOUNT_SAS = c.sas_token;
  return { env, secrets: [c.account_key ?? c.sas_token ?? ''] };
}

/** The service-account JSON goes to a 0600 file named by GOOGLE_APPLICATION_CREDENTIALS. */
export async function gcsPart(c: CredentialsOf<'gcs'>, files: JobFiles): Promise<Partial<Connection>> {
  const keyFile = await files.write('gcs-service-account.json', c.service_account_json);
  return {
    env: { GOOGLE_PROJECT_ID: c.project_id, GOOGLE_APPLICATION_CREDENTIALS: keyFile },
    secrets: [c.service_account_json, ...jsonSecrets(c.service_account_json)],
  };
}

/** The private key and key id inside a service-account file, so a line quoting one is redacted too. */
function jsonSecrets(json: string): string[] {
  try {
    const v = JSON.parse(json) as { private_key?: unknown; private_key_id?: unknown };
    return [v.private_key, v.private_key_id].filter((s): s is string => typeof s === 'string');
  } catch {
    return [];
  }
}
