import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EXIT, parseFlags } from './args.js';
import type { AgentCommand } from './args.js';
import { agentVersion } from '../version.js';

export const PACKAGE = 'restic-manager-agent';
/** The one command this wrapper runs (spec §4.2: no bespoke self-update). */
export const APT_ARGS = ['install', '--only-upgrade', '-y', PACKAGE] as const;

/** What `update` needs from the system; tests replace it. */
export interface UpdateDeps {
  isRoot(): boolean;
  /** The PATH to look for apt-get in. */
  path: string;
  /** Runs the program with stdout/stderr going where `out` says; resolves with its exit status. */
  run(file: string, args: readonly string[], stdio: 'inherit' | 'stderr'): Promise<number>;
  /**
   * Whether dpkg knows the package as installed: true / false, or null when `dpkg-query` is
   * not on PATH (then apt-get decides). Never throws.
   */
  installedAsPackage(dpkgQuery: string | null): Promise<boolean | null>;
  stdout(s: string): void;
  stderr(s: string): void;
}

/** The first executable `name` on `searchPath`, or null. */
export function findOnPath(name: string, searchPath: string): string | null {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      /* not here */
    }
  }
  return null;
}

export const systemDeps = (): UpdateDeps => ({
  isRoot: () => process.getuid?.() === 0,
  path: process.env.PATH ?? '',
  run: (file, args, stdio) =>
    new Promise((resolve, reject) => {
      // apt's own output goes to our stderr under --json, so stdout stays one JSON object.
      const c = spawn(file, [...args], { stdio: stdio === 'inherit' ? 'inherit' : ['inherit', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      c.once('error', reject);
      c.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    }),
  installedAsPackage: (dpkgQuery) =>
    new Promise((resolve) => {
      if (!dpkgQuery) return resolve(null);
      execFile(dpkgQuery, ['-W', '-f=${db:Status-Status}', PACKAGE], { timeout: 10_000 }, (err, stdout) => resolve(!err && stdout.trim() === 'installed'));
    }),
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});

/** `update [--dry-run] [--json]` against `deps`; returns the exit status. */
export async function runUpdate(argv: string[], deps: UpdateDeps): Promise<number> {
  const f = parseFlags(argv, { bools: ['dry-run', 'json'] });
  const apt = findOnPath('apt-get', deps.path);
  const shown = `apt-get ${APT_ARGS.join(' ')}`;
  const report = (o: Record<string, unknown>) => {
    if (f.json) deps.stdout(JSON.stringify({ command: shown, agent_version: agentVersion(), ...o }) + '\n');
  };
  if (f['dry-run']) {
    report({ dry_run: true, ran: false, apt_get: apt, exit_code: null });
    if (!f.json) deps.stdout(`${shown}\n${apt ? '' : '# note: apt-get is not on PATH on this host\n'}`);
    return EXIT.ok;
  }
  const refuse = (reason: string) => {
    report({ dry_run: false, ran: false, apt_get: apt, exit_code: null, error: reason });
    deps.stderr(`restic-manager-agent update: ${reason}\n`);
    return EXIT.failed;
  };
  if (!apt) return refuse('apt-get was not found on PATH: this wrapper only supports apt-based systems; upgrade the restic-manager-agent package with your package manager');
  if (!deps.isRoot()) return refuse(`must run as root to upgrade packages: sudo restic-manager-agent update (or run '${shown}' yourself)`);
  // apt-get --only-upgrade skips a package that is not installed and still exits 0: say so instead.
  if ((await deps.installedAsPackage(findOnPath('dpkg-query', deps.path))) === false) {
    return refuse(`${PACKAGE} is not installed as a Debian package (install.sh installs it from the server's agent.tgz): upgrade by running install.sh again`);
  }
  const code = await deps.run(apt, APT_ARGS, f.json ? 'stderr' : 'inherit');
  report({ dry_run: false, ran: true, apt_get: apt, exit_code: code });
  if (code !== 0) {
    deps.stderr(`restic-manager-agent update: apt-get exited with status ${code}\n`);
    return EXIT.failed;
  }
  if (!f.json) deps.stdout(`upgrade finished; restart the agent to run the new version: systemctl restart restic-manager-agent\n`);
  return EXIT.ok;
}

export const command: AgentCommand = {
  summary: 'upgrade the agent package with apt-get (a thin wrapper; --dry-run prints the command)',
  help: `Usage: restic-manager-agent update [--dry-run] [--json]

Upgrades this agent through the OS package manager (spec §4.2: no self-update). Runs, as root,

  ${`apt-get ${APT_ARGS.join(' ')}`}

with DEBIAN_FRONTEND=noninteractive. It upgrades only when the package is installed and the
package lists (apt-get update, not run by this command) know a newer version. When dpkg-query
says the package is not installed (e.g. the agent came from install.sh's agent.tgz), it refuses
instead of letting apt-get skip it silently. The running
agent keeps its version until it is restarted (systemctl restart restic-manager-agent).
The server's "Notify agent to update" button only tells the agent a version exists.

Flags:
  --dry-run   print the command and change nothing (needs neither root nor apt-get)
  --json      one JSON object on stdout: {"command","agent_version","dry_run","ran","apt_get","exit_code","error"?};
              apt-get's own output goes to stderr

Exit status: 0 upgraded (or nothing to do) / dry run, 1 refused (not root, apt-get missing,
package not installed) or apt-get failed, 2 usage error.`,
  run: (argv) => runUpdate(argv, systemDeps()),
};
