import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

/**
 * Minimum strength of every password this server stores (RM_ADMIN_PASSWORD, new users,
 * admin resets): at least 12 characters, not only whitespace, and a zxcvbn-ts score of at least
 * 3 of 4 against its common-password and pattern lists (@zxcvbn-ts/language-common: frequent
 * passwords, keyboard walks, repeats, sequences, dates), with the username and product names
 * counted as guessable words. The estimator (~45 ms, ~8 MB) is loaded at the first check only.
 */
export const MIN_PASSWORD_LENGTH = 12;
export const MIN_PASSWORD_SCORE = 3;

/** Readable reasons for zxcvbn-ts warning keys (the English language pack is not loaded). */
const WARNINGS: Record<string, string> = {
  straightRow: 'it is a row of keys on the keyboard',
  keyPattern: 'it is a short keyboard pattern',
  simpleRepeat: 'it repeats characters',
  extendedRepeat: 'it repeats a pattern',
  sequences: 'it is a common character sequence',
  recentYears: 'it contains a recent year',
  dates: 'it contains a date',
  topTen: 'it is among the ten most used passwords',
  topHundred: 'it is among the hundred most used passwords',
  common: 'it is a commonly used password',
  similarToCommon: 'it is similar to a commonly used password',
  wordByItself: 'it is a single word',
  namesByThemselves: 'it is a name',
  commonNames: 'it is a common name',
  userInputs: 'it contains the username or the product name',
  pwned: 'it appears in a list of breached passwords',
};

let estimator: Promise<ZxcvbnFactory> | null = null;

function load(): Promise<ZxcvbnFactory> {
  estimator ??= (async () => {
    const [{ ZxcvbnFactory }, common] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common')]);
    return new ZxcvbnFactory({ dictionary: common.dictionary, graphs: common.adjacencyGraphs });
  })();
  return estimator;
}

/**
 * Why `password` is too weak, as a sentence fragment for a field error ("at least 12
 * characters"), or null when it is acceptable. `context` (username …) counts as guessable.
 */
export async function passwordWeakness(password: string, context: string[] = []): Promise<string | null> {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.trim() === '') return 'must not be only spaces';
  const z = await load();
  const r = z.check(password.slice(0, 256), ['restic', 'restic-manager', 'resticmanager', 'admin', ...context]);
  if (r.score >= MIN_PASSWORD_SCORE) return null;
  const why = r.feedback.warning ? WARNINGS[r.feedback.warning] : undefined;
  return `too easy to guess${why ? ` (${why})` : ''}: use a longer passphrase of several unrelated words`;
}
