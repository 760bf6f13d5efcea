/* Damage to a repository's file for the length of a fault scenario: a pack of the restic repository, a blob of the vault. */
import fs from 'node:fs';
import type { Ctx } from './context.js';

/** A copy of `original` with 32 bytes at a seeded random place XORed with 0xa5, and where. */
export function flip32(ctx: Ctx, original: Buffer): { damaged: Buffer; at: number } {
  const damaged = Buffer.from(original);
  const at = ctx.rng.int(0, Math.max(0, damaged.length - 64));
  for (let i = at; i < Math.min(damaged.length, at + 32); i++) damaged[i] = damaged[i]! ^ 0xa5;
  return { damaged, at };
}

/**
 * Puts `damaged` in place of `file` while `fn` runs, then the original bytes and mode back. With a
 * checkpoint the original is saved first (`ctx.packRepairFile`), so a leg killed meanwhile has it
 * put back before the next leg (repairLeftPack).
 */
export async function whileDamaged<T>(ctx: Ctx, file: string, original: Buffer, damaged: Buffer, fn: () => Promise<T>): Promise<T> {
  if (ctx.packRepairFile) {
    fs.writeFileSync(`${ctx.packRepairFile}.bin`, original);
    fs.writeFileSync(ctx.packRepairFile, file);
  }
  const mode = fs.statSync(file).mode & 0o777;
  fs.chmodSync(file, 0o600);
  fs.writeFileSync(file, damaged);
  try {
    return await fn();
  } finally {
    fs.writeFileSync(file, original);
    fs.chmodSync(file, mode);
    if (ctx.packRepairFile) fs.rmSync(ctx.packRepairFile, { force: true });
  }
}
