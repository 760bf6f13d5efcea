import fs from 'node:fs';
import { EXIT, STATE_DIR_HELP, parseFlags } from './args.js';
import type { AgentCommand } from './args.js';
import { resolveStateDir, statePaths } from '../state/paths.js';
import { readAgentConfig } from '../state/agent-config.js';
import { readSecrets } from '../state/secrets.js';
import { readSchedules } from '../state/schedule-store.js';
import { readStatus } from '../state/status.js';
import { StateError } from '../state/errors.js';

const R = '[redacted]';

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

export const command: AgentCommand = {
  summary: 'print the agent state as JSON (secrets redacted unless --allow-secrets)',
  help: `Usage: restic-manager-agent dump-state [--state-dir DIR] [--allow-secrets]

Prints agent.yaml, secrets.enc (decrypted), the last-known-good schedule, active jobs, the
number of queued reports and the status file as one JSON document. Bearer, secrets key,
repository password, REST password, database passwords and hook bodies are replaced by "${R}"
unless --allow-secrets is given.

Flags:
${STATE_DIR_HELP}
  --allow-secrets   include secret values (handle the output with care)

Exit status: 0 printed, 1 the state is missing or corrupt (the reason is printed), 2 usage error.`,
  async run(argv) {
    const f = parseFlags(argv, { values: ['state-dir'], bools: ['allow-secrets'] });
    const p = statePaths(resolveStateDir(typeof f['state-dir'] === 'string' ? f['state-dir'] : undefined));
    const show = f['allow-secrets'] === true;
    try {
      const cfg = readAgentConfig(p.config);
      const sec = readSecrets(p.secrets, cfg.secrets_key);
      let queued = 0;
      try {
        queued = fs.readFileSync(p.outbox, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
      } catch {
        queued = 0;
      }
      const out = {
        state_dir: p.dir,
        config: { ...cfg, bearer: show ? cfg.bearer : R, secrets_key: show ? cfg.secrets_key : R },
        secrets: sec && {
          repository: show ? sec.repository : sec.repository.replace(/\/\/[^@/]*@/, `//${R}@`),
          password: show ? sec.password : R,
          ...(sec.rest_username ? { rest_username: sec.rest_username } : {}),
          ...(sec.rest_password ? { rest_password: show ? sec.rest_password : R } : {}),
          // Issue 15: id, name, engine, URL and backend only; credentials only with --allow-secrets.
          ...(sec.repositories ? { repositories: sec.repositories.map((r) => (show ? r : { id: r.id, name: r.name, engine: r.engine, url: r.url, backend: r.credentials.backend })) } : {}),
        },
        schedules: schedulesOf(p.schedules, p.legacySchedules, cfg.secrets_key, show),
        active_jobs: readJson(p.activeJobs) ?? [],
        queued_reports: queued,
        status: readStatus(p.status),
      };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return EXIT.ok;
    } catch (err) {
      if (err instanceof StateError) {
        process.stderr.write(`${err.message}\n`);
        return EXIT.failed;
      }
      throw err;
    }
  },
};

/** The stored schedule set (opened with the secrets key), or why it cannot be read. */
function schedulesOf(sealedFile: string, legacyFile: string, keyB64: string, show: boolean): unknown {
  try {
    const v = readSchedules(sealedFile, legacyFile, keyB64)?.value ?? null;
    return show ? v : hideSecrets(v);
  } catch (err) {
    return { unreadable: (err as Error).message };
  }
}

/** The schedule set with every database `password` and hook body replaced by the redaction marker. */
function hideSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(hideSecrets);
  if (typeof v !== 'object' || v === null) return v;
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[k] = SECRET_KEYS.has(k) && typeof x === 'string' ? R : hideSecrets(x);
  return o;
}
const SECRET_KEYS = new Set(['password', 'pre_hook', 'post_hook']);
