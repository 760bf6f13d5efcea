import type { AlertRepository } from '../repositories/alert.repository.js';
import type { AlertRuleRepository, SettledJob } from '../repositories/alert-rule.repository.js';
import type { BackupTarget } from './backup-targets.js';
import { BACKUP_KIND, CHECK_KIND, otherTarget, targetOfMessage } from './backup-targets.js';
import { lastMeaningfulLine } from './failure-reason.js';
import type { FleetService } from './fleet.service.js';

/** The alert kinds a host's restic repository and its vault share. */
export type SharedAlertKind = 'backup_failed' | 'check_failed';

/**
 * The message of a failed backup or check job: the job's classified error kind and its last
 * meaningful line (`reason`, see lastMeaningfulLine), e.g. "backup job j1 failed (failed): Fatal:
 * unable to save snapshot: no space left on device". Messages about the vault start with
 * "vault " — `targetOfMessage` relies on it; restic's are the ones shipped before vault jobs existed.
 */
export function failedJobMessage(kind: SharedAlertKind, target: BackupTarget, hostName: string, job: SettledJob, reason: string): string {
  const errorKind = job.error_kind ?? 'failed';
  const why = reason || 'no error message was reported';
  if (kind === 'backup_failed') return `${target === 'vault' ? 'vault ' : ''}backup job ${job.id} failed (${errorKind}): ${why}`;
  return `${target === 'vault' ? 'vault check' : 'repository check'} of ${hostName} failed (job ${job.id}, ${errorKind}): ${why}`;
}

/**
 * Raises and resolves the alerts two backup targets share (decision server-0008). There is one
 * open alert per host and kind (server-0005), about the target that failed first. A success of a
 * target resolves only an alert about that target; if the other target's latest result is still
 * a failure, the alert is raised again at once, about that one — so an open alert never names a
 * target that recovered while the other one stays broken, and the operator is told.
 */
export class TargetAlerts {
  constructor(
    private readonly fleet: FleetService,
    private readonly alerts: AlertRepository,
    private readonly q: AlertRuleRepository,
  ) {}

  /** failedJobMessage with the job's reason: its error text, else the last line of its stderr log. */
  async failedMessage(kind: SharedAlertKind, target: BackupTarget, hostName: string, job: SettledJob): Promise<string> {
    const stderr = lastMeaningfulLine(job.error) ? [] : await this.q.lastStderr(job.id);
    return failedJobMessage(kind, target, hostName, job, lastMeaningfulLine(job.error, stderr));
  }

  /** A target's outcome: `failed` raises (once) with `message`; a success resolves as described above. */
  async outcome(hostId: string, kind: SharedAlertKind, target: BackupTarget, failed: boolean, message: string): Promise<void> {
    if (failed) {
      await this.fleet.setAlert(hostId, kind, true, message, 'critical');
      return;
    }
    const open = await this.alerts.openOfKind(hostId, kind);
    if (!open || targetOfMessage(open.message) !== target) return;
    await this.fleet.setAlert(hostId, kind, false, '');
    const other = otherTarget(target);
    const last = await this.q.lastSettledJob(hostId, (kind === 'backup_failed' ? BACKUP_KIND : CHECK_KIND)[other]);
    if (last?.status !== 'failed') return;
    const name = (await this.q.hostName(hostId)) ?? hostId;
    await this.fleet.setAlert(hostId, kind, true, await this.failedMessage(kind, other, name, last), 'critical');
  }
}
