/**
 * `@restic-manager/vault/age`: the age format alone (node:crypto only), for packages that
 * encrypt to an age recipient without loading the vault engine (the server's control-plane
 * backup, docs/operations.md).
 */
export * from './age/index.js';
