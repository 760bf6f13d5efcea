import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_job_dispatch.js';
import * as m0003 from './0003_ui_indexes.js';
import * as m0004 from './0004_user_disabled.js';
import * as m0005 from './0005_maintenance.js';
import * as m0006 from './0006_host_time_zone.js';
import * as m0007 from './0007_notifications.js';
import * as m0008 from './0008_restore_credentials.js';
import * as m0009 from './0009_schedule_databases.js';
import * as m0010 from './0010_host_vaults.js';
import * as m0011 from './0011_oidc_identities.js';
import * as m0012 from './0012_trends.js';
import * as m0013 from './0013_vault_projections.js';
import * as m0014 from './0014_login_attempts.js';
import * as m0015 from './0015_credential_rotation.js';
import * as m0016 from './0016_repositories.js';
import * as m0017 from './0017_copy_policies.js';
import * as m0018 from './0018_quarantined_reports.js';
import * as m0019 from './0019_snapshot_ledger.js';
import * as m0020 from './0020_schedule_read_data.js';
import * as m0028 from './0028_notification_outbox.js';
import * as m0029 from './0029_oidc_pending.js';
import * as m0030 from './0030_leases.js';
import * as m0031 from './0031_restore_drills.js';
import * as m0032 from './0032_api_tokens.js';
import * as m0033 from './0033_totp.js';
import * as m0034 from './0034_schedule_stop_containers.js';
import * as m0035 from './0035_control_plane_backup.js';
import * as m0036 from './0036_channels.js';
import * as m0037 from './0037_backup_windows.js';
import * as m0038 from './0038_concurrency_caps.js';
import * as m0039 from './0039_user_scope.js';
import * as m0040 from './0040_vault_drill_hosts.js';
import * as m0041 from './0041_cluster_messages.js';
import * as m0042 from './0042_pg_wide_integers.js';

/** Every migration, in order. Names sort lexically; never rename or edit a shipped one. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_job_dispatch': m0002,
  '0003_ui_indexes': m0003,
  '0004_user_disabled': m0004,
  '0005_maintenance': m0005,
  '0006_host_time_zone': m0006,
  '0007_notifications': m0007,
  '0008_restore_credentials': m0008,
  '0009_schedule_databases': m0009,
  '0010_host_vaults': m0010,
  '0011_oidc_identities': m0011,
  '0012_trends': m0012,
  '0013_vault_projections': m0013,
  '0014_login_attempts': m0014,
  '0015_credential_rotation': m0015,
  '0016_repositories': m0016,
  '0017_copy_policies': m0017,
  '0018_quarantined_reports': m0018,
  '0019_snapshot_ledger': m0019,
  '0020_schedule_read_data': m0020,
  '0028_notification_outbox': m0028,
  '0029_oidc_pending': m0029,
  '0030_leases': m0030,
  '0031_restore_drills': m0031,
  '0032_api_tokens': m0032,
  '0033_totp': m0033,
  '0034_schedule_stop_containers': m0034,
  '0035_control_plane_backup': m0035,
  '0036_channels': m0036,
  '0037_backup_windows': m0037,
  '0038_concurrency_caps': m0038,
  '0039_user_scope': m0039,
  '0040_vault_drill_hosts': m0040,
  '0041_cluster_messages': m0041,
  '0042_pg_wide_integers': m0042,
};
