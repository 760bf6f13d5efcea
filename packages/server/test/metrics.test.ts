import { describe, expect, it } from 'vitest';
import { SERVER_VERSION } from '../src/version.js';
import { enrolledAgent, eventually, useHarness } from './helpers/harness.js';

/** Spec §14.4: every metric it names, with its type, on GET /metrics (loopback is allowed by default). */
const SPEC_METRICS: [string, string][] = [
  ['restic_manager_last_backup_timestamp_seconds', 'gauge'],
  ['restic_manager_last_backup_status', 'gauge'],
  ['restic_manager_repo_size_bytes', 'gauge'],
  ['restic_manager_snapshot_count', 'gauge'],
  ['restic_manager_agent_online', 'gauge'],
  ['restic_manager_job_duration_seconds', 'histogram'],
  ['restic_manager_jobs_total', 'gauge'],
  ['restic_manager_alerts_active', 'gauge'],
  ['restic_manager_build_info', 'gauge'],
];

describe('/metrics exports every §14.4 metric', () => {
  const h = useHarness();

  it('names each one with its type, per-host values labelled by host, and build_info{version} = 1', async () => {
    const { agent, hostId } = await enrolledAgent(h, 'metrics-host');
    await agent.connect();
    agent.send({ type: 'repo.stats', size_bytes: 4096, snapshot_count: 3, dedup_ratio: 1.2 });
    await eventually(async () => (await h.admin.req('GET', `/api/hosts/${hostId}`)).body.repo_size_bytes === 4096);
    const text = await (await fetch(`${h.url}/metrics`)).text();
    const missing = SPEC_METRICS.filter(([name, type]) => !text.includes(`# TYPE ${name} ${type}\n`));
    expect(missing, text.slice(0, 2000)).toEqual([]);
    expect(text).toMatch(new RegExp(`^restic_manager_build_info\\{version="${SERVER_VERSION.replace(/\./g, '\\.')}"\\} 1$`, 'm'));
    expect(text).toMatch(/^restic_manager_repo_size_bytes\{host="metrics-host"\} 4096$/m);
    expect(text).toMatch(/^restic_manager_snapshot_count\{host="metrics-host"\} 3$/m);
    expect(text).toMatch(/^restic_manager_agent_online\{host="metrics-host"\} 1$/m);
    // The same host over the API: the fake agent says 0.0.0-fake, one minor version behind 0.1.0.
    const host = await h.admin.req('GET', `/api/hosts/${hostId}`);
    expect(host.body.agent_version_status).toEqual({ state: 'behind', behind: 1, unit: 'minor', label: '1 minor version behind' });
    await agent.close();
  });
});
