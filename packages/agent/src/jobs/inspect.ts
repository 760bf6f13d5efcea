import type { Connection, DiffSideStats, Engine, EngineError, Snapshot } from '@restic-manager/engines';
import type { AgentMessage, DiffErrorKind, ForgetPreview, PreviewSnapshot, SnapshotDiff } from '@restic-manager/protocol';
import type { Logger } from '../log.js';
import { enginePolicy } from './engine-policy.js';
import type { RepoSecrets } from '../state/secrets.js';

/** What these requests need (a subset of the RequestHandler's deps). */
export interface InspectDeps {
  /** The host's own routine credentials. */
  secrets: () => RepoSecrets | null;
  /** Runs `fn` against the host's own repository (RequestHandler.withOwn: its backend credentials when delivered). */
  withOwn: <T>(s: RepoSecrets, label: string, fn: (conn: Connection, engine: Engine) => Promise<T>) => Promise<T>;
  send: (frame: AgentMessage) => void;
  log: Logger;
  /** Per-request timeout for restic, ms (default 80 s for a diff, 60 s for a preview). */
  timeoutMs?: number;
}

/*
 * Read-only request frames (docs/protocol.md, "snapshot.diff", "forget.preview"). Both answer
 * exactly once, act on the host's own repository with its routine credentials and never change it.
 * Constants mirror @restic-manager/protocol's (the agent loads no zod for requests).
 */

/** An answer must fit one frame (1 MiB): pages and lists stop filling at this many bytes of text. */
const FRAME_BUDGET = 768 * 1024;
const MAX_PREVIEW_SNAPSHOTS = 1000;
const MODIFIER = /^[+\-MTU?]{1,4}$/;
/** restic reads the whole diff to count it; a large repository may need a while. */
const DIFF_TIMEOUT_MS = 80_000;

interface DiffReply {
  changes?: { modifier: string; path: string }[];
  has_more?: boolean;
  total_changes?: number;
  changed_files?: number;
  added?: DiffSideStats;
  removed?: DiffSideStats;
  error?: string;
  error_kind?: DiffErrorKind;
}

/**
 * `restic diff --json <from> <to>`, streamed: every change line is counted, only the requested
 * page is kept (and only as much of it as fits one frame), restic's closing statistics are passed on.
 */
export async function answerDiff(d: InspectDeps, f: SnapshotDiff): Promise<void> {
  const reply = (r: DiffReply): void => d.send({
    type: 'snapshot.diff.result', request_id: f.request_id, changes: r.changes ?? [], has_more: r.has_more ?? false,
    total_changes: r.total_changes ?? null, changed_files: r.changed_files ?? null, added: r.added ?? null, removed: r.removed ?? null,
    error: r.error ?? null, error_kind: r.error_kind ?? null,
  });
  const s = d.secrets();
  if (!s) return reply({ error: 'the agent has no repository credentials yet', error_kind: 'no_credentials' });
  await d.withOwn(s, `diff-${f.request_id.slice(0, 16)}`, (conn, engine) => diffPage(d, f, conn, engine, reply));
}

async function diffPage(d: InspectDeps, f: SnapshotDiff, conn: Connection, engine: Engine, reply: (r: DiffReply) => void): Promise<void> {
  if (!engine.diffStream) return reply({ error: `comparing snapshots needs restic (this host uses ${engine.name})`, error_kind: 'failed' });
  const stream = engine.diffStream(conn, f.from_snapshot_id, f.to_snapshot_id, { timeoutMs: d.timeoutMs ?? DIFF_TIMEOUT_MS });
  const page: { modifier: string; path: string }[] = [];
  let index = 0;
  let bytes = 0;
  let full = false;
  let stats: DiffReply = {};
  for await (const item of stream.items) {
    if (item.kind === 'statistics') {
      stats = { changed_files: item.changedFiles, added: item.added, removed: item.removed };
      continue;
    }
    if (index >= f.offset && !full) {
      const path = item.path.slice(0, 4096);
      // bytes on the wire: UTF-8, with JSON escapes (a control character takes 6)
      const size = Buffer.byteLength(JSON.stringify(path)) + 32;
      if (page.length >= f.limit || bytes + size > FRAME_BUDGET) full = true;
      else {
        page.push({ modifier: MODIFIER.test(item.modifier) ? item.modifier : 'M', path });
        bytes += size;
      }
    }
    index++;
  }
  const r = await stream.result;
  if (!r.ok) return reply(diffError(r.error, f));
  reply({ ...stats, changes: page, has_more: index > f.offset + page.length, total_changes: index });
}

function diffError(e: EngineError, f: SnapshotDiff): DiffReply {
  if (/no matching ID found|invalid id|ambiguous/i.test(`${e.message}\n${e.stderrTail.join('\n')}`)) {
    return { error: `snapshot ${f.from_snapshot_id.slice(0, 8)} or ${f.to_snapshot_id.slice(0, 8)} is not in the repository`, error_kind: 'unknown_snapshot' };
  }
  return { error: e.message, error_kind: 'failed' };
}

/**
 * `restic forget --dry-run --no-lock --json` with the policy: which snapshots it would keep (and
 * why) and remove. Always a dry run; without a lock, so it neither waits for nor blocks a backup.
 */
export async function answerForgetPreview(d: InspectDeps, f: ForgetPreview): Promise<void> {
  const s = d.secrets();
  if (!s) {
    d.send({ type: 'forget.preview.result', request_id: f.request_id, keep: [], remove: [], keep_count: 0, remove_count: 0, error: 'the agent has no repository credentials yet', error_kind: 'no_credentials' });
    return;
  }
  const r = await d.withOwn(s, `preview-${f.request_id.slice(0, 16)}`, (conn, engine) => engine.forget(conn, {
    policy: enginePolicy(f.policy), dryRun: true, noLock: true, ...(f.tags?.length ? { filter: { tags: f.tags } } : {}),
  }, { timeoutMs: d.timeoutMs ?? 60_000 }));
  if (!r.ok) {
    d.send({ type: 'forget.preview.result', request_id: f.request_id, keep: [], remove: [], keep_count: 0, remove_count: 0, error: r.error.message, error_kind: 'failed' });
    return;
  }
  let budget = FRAME_BUDGET;
  let room = MAX_PREVIEW_SNAPSHOTS;
  const list = (snaps: Snapshot[]): PreviewSnapshot[] => {
    const out: PreviewSnapshot[] = [];
    for (const sn of snaps) {
      const p = previewOf(sn, r.value.reasons?.[sn.id] ?? []);
      const size = Buffer.byteLength(JSON.stringify(p));
      if (room <= 0 || size > budget) break;
      room--;
      budget -= size;
      out.push(p);
    }
    return out;
  };
  // Removed snapshots first: they are what a preview is for.
  const remove = list(r.value.remove);
  const keep = list(r.value.keep);
  d.send({ type: 'forget.preview.result', request_id: f.request_id, keep, remove, keep_count: r.value.keep.length, remove_count: r.value.remove.length, error: null, error_kind: null });
}

function previewOf(s: Snapshot, reasons: string[]): PreviewSnapshot {
  return {
    id: s.id, time: s.time.slice(0, 64), hostname: s.hostname.slice(0, 256),
    paths: s.paths.slice(0, 64).map((p) => p.slice(0, 4096)), tags: s.tags.slice(0, 64).map((t) => t.slice(0, 256)),
    reasons: reasons.slice(0, 16).map((x) => x.slice(0, 256)),
  };
}

/** Runs a `snapshot.diff` / `forget.preview` request; never throws (an unexpected failure is answered as `failed`). */
export function answerInspect(d: InspectDeps, f: SnapshotDiff | ForgetPreview): void {
  const work = f.type === 'snapshot.diff' ? answerDiff(d, f) : answerForgetPreview(d, f);
  void work.catch((err: unknown) => {
    d.log.error('request failed', { type: f.type, error: String(err) });
    d.send(f.type === 'snapshot.diff'
      ? { type: 'snapshot.diff.result', request_id: f.request_id, changes: [], has_more: false, total_changes: null, changed_files: null, added: null, removed: null, error: 'agent error while comparing snapshots', error_kind: 'failed' }
      : { type: 'forget.preview.result', request_id: f.request_id, keep: [], remove: [], keep_count: 0, remove_count: 0, error: 'agent error while previewing the policy', error_kind: 'failed' });
  });
}
