/**
 * Engine children die with the agent (issue 22). On Linux every engine process is started as
 * `setpriv --pdeathsig KILL -- <tool> <args>` (util-linux): setpriv sets PR_SET_PDEATHSIG and
 * execs the tool in place (same PID, same environment), so the kernel sends the tool SIGKILL
 * when the agent dies — kill -9, a crash, the OOM killer — and an orphaned restic can never keep
 * running and holding a repository lock. Why this mechanism and its limits: docs/agent.md
 * "Engine processes die with the agent".
 *
 * Without a setpriv that knows --pdeathsig (not Linux, util-linux missing or too old)
 * the command is run as given; so is a tool that cannot be resolved to an executable file, so
 * that spawn itself still reports ENOENT/EACCES exactly as before.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** Where Debian (merged /usr or not) and other distributions install util-linux's setpriv. */
const SETPRIV_PATHS = ['/usr/bin/setpriv', '/bin/setpriv'];
/** Node's spawn looks a bare name up in the child's PATH, or here when that has none (Node's docs). */
const DEFAULT_PATH = '/usr/bin:/bin';

let setprivPath: string | null | undefined;

/** The absolute path of a setpriv that supports --pdeathsig, or null; probed once per process. */
export function pdeathsigSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform !== 'linux') return setprivPath;
  for (const candidate of SETPRIV_PATHS) {
    try {
      const help = execFileSync(candidate, ['--help'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
      if (help.includes('--pdeathsig')) return (setprivPath = candidate);
    } catch {
      // not there, or not runnable: try the next one
    }
  }
  return setprivPath;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The file spawn would execute for `binary`: a name with a slash relative to `cwd`, a bare name
 * looked up in the child's own PATH (as Node's spawn does), or null when there is no executable file.
 */
export function resolveExecutable(binary: string, env: Record<string, string>, cwd = process.cwd()): string | null {
  if (binary.includes('/')) {
    const file = path.resolve(cwd, binary);
    return isExecutableFile(file) ? file : null;
  }
  for (const dir of (env.PATH ?? DEFAULT_PATH).split(':')) {
    const file = path.resolve(cwd, dir, binary);
    if (isExecutableFile(file)) return file;
  }
  return null;
}

/**
 * The command to spawn so that the tool is killed when this process dies: `setpriv --pdeathsig
 * KILL -- <absolute tool> <args>` when possible, else `binary args` unchanged. Only the absolute
 * path of the tool and three fixed words are added to argv; the environment is untouched.
 */
export function dieWithParent(binary: string, args: string[], env: Record<string, string>, cwd?: string): { binary: string; args: string[] } {
  const setpriv = pdeathsigSetpriv();
  if (!setpriv) return { binary, args };
  const tool = resolveExecutable(binary, env, cwd);
  if (!tool) return { binary, args };
  return { binary: setpriv, args: ['--pdeathsig', 'KILL', '--', tool, ...args] };
}
