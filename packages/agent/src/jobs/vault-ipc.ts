/** Messages between the agent and its vault job process (vault-process.ts, vault-child.ts). */
import type { Progress } from '@restic-manager/engines';
import type { VaultRunContext, VaultRunResult } from './vault-run.js';

/** The job as sent to the child: the context without its callbacks and signal. */
export type VaultJobSpec = Pick<VaultRunContext, 'kind' | 'args' | 'target' | 'indexDir' | 'identityFile' | 'drillsDir'>;

export type ParentMessage = { type: 'run'; job: VaultJobSpec } | { type: 'abort' };

export type ChildMessage =
  | { type: 'line'; stream: 'stdout' | 'stderr' | 'event'; text: string }
  | { type: 'progress'; progress: Progress }
  | { type: 'result'; result: VaultRunResult };
