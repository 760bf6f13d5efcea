/** Host-tag scopes as values (issue 21): parsing and narrowing, no I/O (services/host-scope.ts checks them). */

/** A host-tag scope: null = every host; else hosts carrying at least one of the tags ([] = none). */
export type Scope = string[] | null;

/** Parses a stored JSON tag list (users.scope_tags, api_tokens.scope_tags); null stays null. */
export const parseScope = (json: string | null): Scope => (json ? (JSON.parse(json) as string[]) : null);

/**
 * The narrower of two scopes: a token acts within its own scope and its account's, so the
 * effective scope is the intersection (null is "every host" and narrows nothing). The result
 * may be empty — nothing is in scope then.
 */
export function narrowScope(a: Scope, b: Scope): Scope {
  if (a === null) return b;
  if (b === null) return a;
  return a.filter((t) => b.includes(t));
}

/** Whether a host with `tags` (its JSON tag list) is inside `scope`. */
export const tagsInScope = (scope: Scope, tags: string[]): boolean => scope === null || tags.some((t) => scope.includes(t));
