/** A state file is missing, unreadable or corrupt. `message` says which file and what to do. */
export class StateError extends Error {
  constructor(
    readonly code: 'state_missing' | 'state_corrupt',
    message: string,
  ) {
    super(message);
    this.name = 'StateError';
  }
}
