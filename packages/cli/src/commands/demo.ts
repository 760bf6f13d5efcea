import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ResticEngine, type Connection, type Progress } from '@restic-manager/engines';
import { EXIT, type Command } from '../command.js';

/** The repository root: the nearest ancestor of this file (or the cwd) with a `packages/` dir. */
function projectRoot(): string {
  for (const start of [process.cwd(), path.dirname(fileURLToPath(import.meta.url))]) {
    let dir = start;
    while (dir !== path.dirname(dir)) {
      if (existsSync(path.join(dir, 'packages')) && existsSync(path.join(dir, 'package.json'))) return dir;
      dir = path.dirname(dir);
    }
  }
  return process.cwd();
}

async function makeSample(dir: string): Promise<number> {
  const words = 'backup restore snapshot policy retention repository agent server schedule'.split(' ');
  let bytes = 0;
  const write = async (rel: string, data: string | Buffer, mode = 0o644): Promise<void> => {
    const file = path.join(dir, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, data, { mode });
    bytes += Buffer.byteLength(data);
  };
  for (let i = 0; i < 40; i++) {
    const text = Array.from({ length: 200 + i * 20 }, (_, j) => words[(i * 7 + j) % words.length]).join(' ');
    await write(`docs/${i % 4}/note-${i}.txt`, `${text}\n`);
  }
  for (let i = 0; i < 6; i++) await write(`media/blob-${i}.bin`, randomBytes(256 * 1024 * (i + 1)));
  await write('bin/run.sh', '#!/bin/sh\necho hello from the demo\n', 0o755);
  await write('secret/private.key', randomBytes(64), 0o600);
  await symlink('../docs/0/note-0.txt', path.join(dir, 'bin', 'latest-note'));
  return bytes;
}

/** relPath -> "type mode sha256|target": enough to prove a restore byte-for-byte identical. */
async function fingerprint(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(dir: string, rel: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const abs = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(r, `link ${await readlink(abs)}`);
      else if (st.isDirectory()) {
        out.set(r, `dir ${mode}`);
        await walk(abs, r);
      } else out.set(r, `file ${mode} ${createHash('sha256').update(await readFile(abs)).digest('hex')}`);
    }
  }
  await walk(root, '');
  return out;
}

function progressLine(p: Progress): string {
  const mb = (n: number): string => (n / 1048576).toFixed(1);
  const total = p.totalBytes !== null ? `/${mb(p.totalBytes)}` : '';
  const eta = p.etaSeconds !== null ? ` eta ${Math.round(p.etaSeconds)}s` : '';
  return `  ${(p.percentDone * 100).toFixed(0).padStart(3)}%  ${mb(p.bytesDone)}${total} MiB  ${p.filesDone} files${eta}`;
}

export const command: Command = {
  summary: 'Demonstrate the engine layer: back up, list, restore and verify a sample folder',
  help: `Usage: restic-manager demo [--json] [--keep]

Creates .demo/engine/ under the project root with a sample folder and a fresh local restic
repository (random password in .demo/engine/repo-password), backs the folder up with live
progress, lists the snapshots, restores into .demo/engine/restore and verifies the restore
byte-for-byte (content, permissions, symlinks).

Flags:
  --json   print one JSON summary object instead of text
  --keep   keep an existing .demo/engine instead of starting fresh

Exit status:
  0  backup, restore and verification succeeded
  1  a step failed (the message says which)
  2  usage error`,
  async run(argv) {
    const unknown = argv.filter((a) => a !== '--json' && a !== '--keep');
    if (unknown.length) {
      process.stderr.write(`demo: unknown flag ${unknown[0] ?? ''}\n`);
      return EXIT.usage;
    }
    const json = argv.includes('--json');
    const say = (s: string): void => {
      if (!json) process.stdout.write(`${s}\n`);
    };
    const base = path.join(projectRoot(), '.demo', 'engine');
    if (!argv.includes('--keep')) await rm(base, { recursive: true, force: true });
    const sample = path.join(base, 'sample');
    const repo = path.join(base, 'repo');
    const target = path.join(base, 'restore');
    await mkdir(base, { recursive: true, mode: 0o700 });
    const password = randomBytes(24).toString('base64url');
    await writeFile(path.join(base, 'repo-password'), `${password}\n`, { mode: 0o600 });
    const conn: Connection = { repository: repo, password, cacheDir: path.join(base, 'cache') };
    const engine = new ResticEngine();
    const fail = (step: string, message: string): number => {
      if (json) process.stdout.write(`${JSON.stringify({ ok: false, step, error: message })}\n`);
      else process.stderr.write(`demo: ${step} failed: ${message}\n`);
      return EXIT.failed;
    };

    const version = await engine.version();
    if (!version.ok) return fail('version', `${version.error.message} (install restic: apt-get install restic)`);
    say(`restic ${version.value.version}`);
    const sampleBytes = existsSync(sample) ? 0 : await makeSample(sample);
    say(`sample folder: ${sample} (${(sampleBytes / 1048576).toFixed(1)} MiB)`);
    if (!existsSync(path.join(repo, 'config'))) {
      const init = await engine.init(conn);
      if (!init.ok) return fail('init', init.error.message);
      say(`repository:    ${repo} (password in ${path.join(base, 'repo-password')})`);
    }

    const tty = process.stdout.isTTY && !json;
    const backup = await engine.backup(conn, { paths: [sample], tags: ['demo'] }, {
      progressIntervalMs: 200,
      onProgress: (p) => {
        if (json) return;
        if (tty) process.stdout.write(`\r${progressLine(p)}\x1b[K`);
        else say(progressLine(p));
      },
    });
    if (tty) process.stdout.write('\n');
    if (!backup.ok) return fail('backup', backup.error.message);
    const s = backup.value;
    say(`backup:        snapshot ${s.snapshotId}, ${s.filesNew} new files, ${(s.dataAdded / 1048576).toFixed(2)} MiB added in ${s.durationSeconds.toFixed(2)} s`);

    const snaps = await engine.snapshots(conn);
    if (!snaps.ok) return fail('snapshots', snaps.error.message);
    say('snapshots:');
    for (const sn of snaps.value) say(`  ${sn.shortId}  ${sn.time.slice(0, 19)}  ${sn.hostname}  [${sn.tags.join(',')}]  ${sn.paths.join(' ')}`);

    await rm(target, { recursive: true, force: true });
    const restore = await engine.restore(conn, { snapshot: s.snapshotId, target }, {
      progressIntervalMs: 200,
      onProgress: (p) => {
        if (tty) process.stdout.write(`\r${progressLine(p)}\x1b[K`);
      },
    });
    if (tty) process.stdout.write('\n');
    if (!restore.ok) return fail('restore', restore.error.message);
    say(`restore:       ${(restore.value.bytesRestored / 1048576).toFixed(1)} MiB into ${target}`);

    // restic restores the absolute source path below the target.
    const restoredSample = path.join(target, sample);
    const [want, got] = await Promise.all([fingerprint(sample), fingerprint(restoredSample)]);
    const diffs = [...want].filter(([k, v]) => got.get(k) !== v).map(([k]) => k);
    for (const k of got.keys()) if (!want.has(k)) diffs.push(k);
    if (diffs.length) return fail('verify', `${diffs.length} entries differ, e.g. ${diffs.slice(0, 3).join(', ')}`);
    say(`verify:        ${want.size} entries identical (content, permissions, symlinks)`);

    const summary = {
      ok: true,
      restic: version.value.version,
      snapshot: s.snapshotId,
      files_backed_up: s.totalFilesProcessed,
      bytes_backed_up: s.totalBytesProcessed,
      data_added: s.dataAdded,
      snapshots: snaps.value.length,
      bytes_restored: restore.value.bytesRestored,
      entries_verified: want.size,
      demo_dir: base,
    };
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else say(`\nDemo passed. Inspect it yourself: RESTIC_PASSWORD_FILE=${path.join(base, 'repo-password')} restic -r ${repo} snapshots`);
    return EXIT.ok;
  },
};
