import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { AgentErrorCode, AgentMessage, CloseCode, ServerMessage } from '@restic-manager/protocol';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url)), 'utf8');
const section = (title: string): string => {
  const start = doc.indexOf(title);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
};

function missing(union: { options: readonly z.ZodObject[] }, text: string): string[] {
  const out: string[] = [];
  for (const o of union.options) {
    const type = (o.shape.type as z.ZodLiteral<string>).value;
    const start = text.indexOf(`### ${type}\n`);
    if (start < 0) {
      out.push(`### ${type}`);
      continue;
    }
    const next = text.indexOf('\n### ', start + 1);
    const body = text.slice(start, next < 0 ? undefined : next);
    for (const key of Object.keys(o.shape)) if (key !== 'type' && !body.includes(`\`${key}\``)) out.push(`${type}.${key}`);
  }
  return out;
}

describe('docs/protocol.md documents every frame', () => {
  it('has a section naming every field of every agent -> server frame', () => {
    expect(missing(AgentMessage as never, section('## 3. Agent → server frames'))).toEqual([]);
  });

  it('has a section naming every field of every server -> agent frame', () => {
    expect(missing(ServerMessage as never, section('## 4. Server → agent frames'))).toEqual([]);
  });

  it('lists every error code and close code', () => {
    const codes = section('## 5. Error codes and close codes');
    expect(AgentErrorCode.options.filter((c) => !codes.includes(`\`${c}\``))).toEqual([]);
    expect(Object.entries(CloseCode).filter(([n, c]) => !codes.includes(`| ${c} | \`${n}\``))).toEqual([]);
  });
});
