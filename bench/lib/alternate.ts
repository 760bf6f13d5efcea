/**
 * One round of a peer comparison: `ours` and `peer` once each, `ours` first on even rounds and
 * `peer` first on odd ones — whichever runs second finds the machine warmer, and neither side
 * should always get that. Returns what `ours` returned.
 */
export async function alternate<T>(round: number, ours: () => Promise<T>, peer: () => Promise<unknown>): Promise<T> {
  if (round % 2 === 0) {
    const r = await ours();
    await peer();
    return r;
  }
  await peer();
  return ours();
}
