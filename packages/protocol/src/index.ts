export * from './common.js';
export * from './agent-messages.js';
export * from './server-messages.js';
export * from './parse.js';
export * from './rest.js';
export * from './requests.js';
export * from './restore-plan.js';
export * from './vault.js';
