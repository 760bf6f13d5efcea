/** Backup progress: a refreshing status line on a TTY, JSON lines with --json, nothing with --cron. */
import { formatBytes, type BackupProgress } from '@restic-manager/vault';

export type ProgressMode = 'tty' | 'json' | 'quiet';

function eta(p: BackupProgress): string {
  const rate = p.bytesDone / Math.max(p.elapsedMs / 1000, 0.001);
  if (rate <= 0 || p.bytesTotal <= p.bytesDone) return '0:00';
  const s = Math.round((p.bytesTotal - p.bytesDone) / rate);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function progressPrinter(mode: ProgressMode): { update(p: BackupProgress): void; done(): void } {
  let shown = false;
  return {
    update(p) {
      if (mode === 'json') {
        process.stdout.write(
          `${JSON.stringify({
            message_type: 'status',
            phase: p.phase,
            files_done: p.filesDone,
            files_total: p.filesTotal,
            bytes_done: p.bytesDone,
            bytes_total: p.bytesTotal,
            bytes_uploaded: p.bytesUploaded,
            elapsed_ms: p.elapsedMs,
            percent_done: p.bytesTotal ? p.bytesDone / p.bytesTotal : 1,
          })}\n`,
        );
      } else if (mode === 'tty') {
        const rate = p.bytesDone / Math.max(p.elapsedMs / 1000, 0.001);
        const line = `[${p.phase}] files ${p.filesDone}/${p.filesTotal}  ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}  ${formatBytes(rate)}/s  ETA ${eta(p)}  uploaded ${formatBytes(p.bytesUploaded)}`;
        process.stderr.write(`\r\x1b[2K${line}`);
        shown = true;
      }
    },
    done() {
      if (shown) process.stderr.write('\n');
    },
  };
}
