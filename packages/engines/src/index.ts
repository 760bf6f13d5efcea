export * from './types.js';
export { redactUrl, Redactor } from './redact.js';
export { ResticEngine } from './restic/engine.js';
export { RusticEngine } from './rustic/engine.js';
export { runProcess, LineSplitter, type RunSpec, type RunOutcome, type ChildHandle } from './runner.js';
export { dieWithParent, pdeathsigSetpriv, resolveExecutable } from './parent-death.js';
export { classify, kindFromText } from './classify.js';
export { ProgressCoalescer } from './progress.js';
export { policyArgs } from './policy.js';

import { ResticEngine } from './restic/engine.js';
import { RusticEngine } from './rustic/engine.js';
import type { Engine } from './types.js';

/** The engine implementation by name; an unknown name (a caller bypassing the type) throws. */
export function createEngine(name: Engine['name']): Engine {
  switch (name) {
    case 'restic':
      return new ResticEngine();
    case 'rustic':
      return new RusticEngine();
    default:
      throw new Error(`unknown engine '${String(name)}' (known: restic, rustic)`);
  }
}
export { withSnapshot, SnapshotReleaseError, systemRunner, type FsSnapshotKind, type SnapshotHandle, type WithSnapshotOptions, type CommandRunner, type CommandResult } from './fs-snapshot/index.js';
export { materialise, BackendConfigError, sftpTarget, openErrorKind, type OpenErrorKind } from './backends/index.js';
