import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

/** A MariaDB identifier: backquoted, backquotes doubled. */
export const myIdent = (n: string): string => `\`${n.replace(/`/g, '``')}\``;

const PREFIXES = ['USE ', 'CREATE DATABASE '].map((p) => Buffer.from(p));
/** Lines longer than this are data (extended INSERTs), never the statements rewritten here. */
const MAX_LINE = 4096;

const startsLike = (b: Buffer): boolean => PREFIXES.some((p) => b.subarray(0, p.length).equals(p.subarray(0, Math.min(p.length, b.length))));

/**
 * Points a `mariadb-dump --databases FROM` stream at database TO: the lines `USE \`FROM\`;` and
 * `CREATE DATABASE … \`FROM\` …;` that the dump writes at the start of a line (before the tables,
 * and again before the final view definitions) name TO instead. Everything else passes through
 * byte for byte; memory stays bounded (at most one short line is held back between chunks).
 * mariadb-dump escapes newlines inside data, so a data line never starts with these words.
 */
export class MariadbRename extends Transform {
  private held: Buffer = Buffer.alloc(0);
  private atLineStart = true;
  private readonly from: string;
  private readonly to: string;

  constructor(from: string, to: string) {
    super();
    this.from = myIdent(from);
    this.to = myIdent(to);
  }

  private rewrite(line: Buffer): Buffer {
    const text = line.toString('utf8');
    const eol = /\r?\n$/.exec(text)?.[0] ?? '';
    const body = text.slice(0, text.length - eol.length);
    if (body === `USE ${this.from};`) return Buffer.from(`USE ${this.to};${eol}`);
    if (body.startsWith('CREATE DATABASE ') && body.includes(this.from)) return Buffer.from(body.replace(this.from, this.to) + eol);
    return line;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const data = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = Buffer.alloc(0);
    let pos = 0;
    while (pos < data.length) {
      const nl = data.indexOf(10, pos);
      if (!this.atLineStart) {
        if (nl < 0) {
          this.push(data.subarray(pos));
          return done();
        }
        this.push(data.subarray(pos, nl + 1));
        pos = nl + 1;
        this.atLineStart = true;
        continue;
      }
      const end = nl < 0 ? data.length : nl + 1;
      const line = data.subarray(pos, end);
      if (!startsLike(line) || line.length > MAX_LINE) {
        this.atLineStart = nl >= 0;
        this.push(line);
      } else if (nl < 0) {
        this.held = Buffer.from(line);
        return done();
      } else this.push(this.rewrite(line));
      pos = end;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.held.length) this.push(this.rewrite(this.held));
    done();
  }
}
