/** What the dump and restore tools share when they start: run_as and the tool's environment. */
import type { ToolCommand } from './commands.js';
import { lookupUser } from '../jobs/users.js';

export interface ToolLaunch {
  env: NodeJS.ProcessEnv;
  /** spawn() options that drop to the run_as user (libuv drops uid/gid and supplementary groups before exec). */
  identity: { uid: number; gid: number; cwd: string } | Record<string, never>;
}

/** The environment and identity a tool runs with, or an error when its run_as user does not exist. */
export function toolLaunch(cmd: ToolCommand, baseEnv: NodeJS.ProcessEnv): ToolLaunch | { error: string } {
  const env = { ...baseEnv, ...cmd.env };
  if (!cmd.runAs) return { env, identity: {} };
  const u = lookupUser(cmd.runAs);
  if (!u) return { error: `run_as user '${cmd.runAs}' does not exist on this host` };
  Object.assign(env, { HOME: u.home, USER: u.name, LOGNAME: u.name });
  return { env, identity: { uid: u.uid, gid: u.gid, cwd: '/' } };
}
