/**
 * The hostile-names corpus (issue 22), generated from a seed under `dir`: unicode in NFC and
 * NFD, RTL and zero-width marks, leading dashes, newlines, tabs, backslashes, names that are not
 * valid UTF-8, 255-byte names, a path near PATH_MAX, FIFOs, a Unix socket, symlink loops, an
 * unreadable file and one directory with many entries. What could not be made is returned as a
 * note (never silently left out).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Rng } from './rng.js';

export interface HostileCorpus {
  /** Kinds of entries made, for the report. */
  made: string[];
  notes: string[];
  /** The listening socket (closing it removes the socket file). */
  close(): Promise<void>;
}

const PATH_MAX = 4096;

const names: [string, Buffer][] = [
  ['nfc', Buffer.from('caf\u00e9-nfc.txt'.normalize('NFC'))],
  ['nfd', Buffer.from('cafe\u0301-nfd.txt'.normalize('NFD'))],
  ['nfkc-vs-nfkd', Buffer.from('\ufb01le-ligature.txt')],
  ['rtl override', Buffer.from('invoice-\u202etxt.exe')],
  ['rtl arabic', Buffer.from('\u0645\u0644\u0641.txt')],
  ['zero-width', Buffer.from('zero\u200bwidth\u200d.txt')],
  ['bom', Buffer.from('\ufeffbom.txt')],
  ['leading dash', Buffer.from('-rf')],
  ['leading dashes', Buffer.from('--help')],
  ['dash only', Buffer.from('-')],
  ['newline', Buffer.from('new\nline.txt')],
  ['tab', Buffer.from('tab\there.txt')],
  ['backslash', Buffer.from('back\\slash\\.txt')],
  ['quotes', Buffer.from(`it's "quoted" $HOME \`x\``)],
  ['glob chars', Buffer.from('[a-z]*?.txt')],
  ['invalid utf-8 (lone continuation)', Buffer.from([0x62, 0x61, 0x64, 0x80, 0x2e, 0x62, 0x69, 0x6e])],
  ['invalid utf-8 (0xff 0xfe)', Buffer.from([0xff, 0xfe, 0x6e, 0x61, 0x6d, 0x65])],
  ['invalid utf-8 (overlong)', Buffer.from([0xc0, 0xaf, 0x78])],
  ['invalid utf-8 (truncated sequence)', Buffer.from([0x61, 0xe2, 0x82])],
  ['255 ascii bytes', Buffer.from('n'.repeat(255))],
  ['255 bytes of 2-byte chars', Buffer.from(`${'\u00e9'.repeat(127)}x`)],
  ['emoji', Buffer.from('\u{1f4be}\u{1f525}.bin')],
];

const bjoin = (dir: string | Buffer, name: Buffer): Buffer => Buffer.concat([Buffer.from(dir), Buffer.from('/'), name]);

/**
 * Builds the corpus. `restoreOverhead`: bytes a restore under an alternate directory adds in front
 * of a source path (the target directory), so the near-PATH_MAX file still restores there.
 */
export async function makeHostileCorpus(dir: string, rng: Rng, opts: { manyEntries: number; restoreOverhead: number }): Promise<HostileCorpus> {
  const made: string[] = [];
  const notes: string[] = [];
  fs.mkdirSync(dir, { recursive: true });
  for (const [kind, name] of names) {
    fs.writeFileSync(bjoin(dir, name), rng.bytes(rng.int(0, 3000)));
    made.push(kind);
  }
  // a directory whose name is itself hostile, with a file inside
  const hostileDir = bjoin(dir, Buffer.from([0x2d, 0x64, 0x69, 0x72, 0x0a, 0xfe]));
  fs.mkdirSync(hostileDir);
  fs.writeFileSync(bjoin(hostileDir, Buffer.from('inside')), rng.bytes(100));
  made.push('hostile directory name');

  // a path whose restored form (under the restore target) is just below PATH_MAX
  const budget = PATH_MAX - 1 - opts.restoreOverhead - 16;
  let deep: Buffer = Buffer.from(path.join(dir, 'deep'));
  fs.mkdirSync(deep);
  while (deep.length + 1 + 200 + 1 + 40 < budget) {
    deep = bjoin(deep, Buffer.from('d'.repeat(200)));
    fs.mkdirSync(deep);
  }
  const last = budget - deep.length - 1;
  fs.writeFileSync(bjoin(deep, Buffer.from('f'.repeat(Math.min(255, last)))), rng.bytes(512));
  made.push(`path of ${deep.length + 1 + Math.min(255, last)} bytes (restored: about ${PATH_MAX - 16} of PATH_MAX ${PATH_MAX})`);

  const special = path.join(dir, 'special');
  fs.mkdirSync(special);
  try {
    execFileSync('mkfifo', [path.join(special, 'a-fifo'), path.join(special, '-fifo-dash')]);
    made.push('FIFOs');
  } catch (err) {
    notes.push(`no FIFO: mkfifo failed (${String(err)})`);
  }
  const sock = await listenCorpusSocket(dir);
  made.push('Unix socket');
  fs.symlinkSync('loop-b', path.join(special, 'loop-a'));
  fs.symlinkSync('loop-a', path.join(special, 'loop-b'));
  fs.symlinkSync('.', path.join(special, 'self'));
  fs.symlinkSync('/nonexistent/target', path.join(special, 'dangling'));
  fs.symlinkSync(Buffer.from([0x74, 0xff, 0x0a]), bjoin(special, Buffer.from('link-to-invalid-utf8')));
  made.push('symlink loops, a dangling symlink, a symlink with a non-UTF-8 target');
  const unreadable = path.join(special, 'unreadable');
  fs.writeFileSync(unreadable, rng.bytes(64));
  fs.chmodSync(unreadable, 0o000);
  made.push('unreadable file (mode 000)');
  if (process.getuid?.() === 0) notes.push('running as root: the mode-000 file is still readable, so it is backed up and restored like any file');

  const many = path.join(dir, 'many');
  fs.mkdirSync(many);
  for (let i = 0; i < opts.manyEntries; i++) fs.writeFileSync(path.join(many, `e${String(i).padStart(6, '0')}`), String(i));
  made.push(`one directory with ${opts.manyEntries} entries`);
  return { made, notes, close: () => new Promise((r) => sock.close(() => r())) };
}

/**
 * The corpus's Unix socket, listening (`special/a.sock`). A run resumed from a checkpoint listens
 * on it again: a socket file left by a killed process is replaced, one closed cleanly is made again.
 */
export async function listenCorpusSocket(dir: string): Promise<net.Server> {
  const file = path.join(dir, 'special', 'a.sock');
  fs.rmSync(file, { force: true });
  const sock = net.createServer();
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.listen(file, () => resolve());
  });
  return sock;
}
