import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one system command (btrfs, zfs, lvcreate, mount...). Resolves with the exit code and
 * output; rejects only when the command cannot be started. Tests pass a recording runner.
 */
export interface CommandRunner {
  run(cmd: string, args: string[]): Promise<CommandResult>;
}

export const systemRunner: CommandRunner = {
  run(cmd, args) {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  },
};

/** Runs a command and throws a readable error when it fails. */
export async function mustRun(runner: CommandRunner, cmd: string, args: string[]): Promise<string> {
  const r = await runner.run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
  return r.stdout;
}
