import { describe, expect, it } from 'vitest';
import { agentVersionStatus } from '../src/services/agent-version.js';

describe('agentVersionStatus: what "N versions behind" counts', () => {
  it.each([
    ['0.1.0', '0.1.0', 'current', 0, null, 'up to date'],
    ['v0.1.0', '0.1.0', 'current', 0, null, 'up to date'],
    ['0.1.0', '0.3.2', 'behind', 2, 'minor', '2 minor versions behind'],
    ['0.3.0', '0.3.2', 'behind', 2, 'patch', '2 patch releases behind'],
    ['0.3.1', '0.3.2', 'behind', 1, 'patch', '1 patch release behind'],
    ['1.9.9', '3.0.0', 'major_behind', 2, 'major', '2 major versions behind'],
    ['0.3.2-rc.1', '0.3.2', 'behind', 0, 'prerelease', 'pre-release of 0.3.2'],
    ['0.4.0', '0.3.2', 'ahead', 0, null, 'newer than the server'],
    ['0.3.2+build.7', '0.3.2', 'current', 0, null, 'up to date'],
    ['nightly', '0.3.2', 'unknown', 0, null, 'version nightly not comparable'],
    [null, '0.3.2', 'unknown', 0, null, 'agent version unknown'],
  ] as const)('agent %s vs server %s -> %s', (agent, server, state, behind, unit, label) => {
    expect(agentVersionStatus(agent, server)).toEqual({ state, behind, unit, label });
  });
});
