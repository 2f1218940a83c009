/** @module config: Strato's settings, parsed once. */
export { loadConfig } from './load-config.js'
export type { AsyncSettings, Config, Env } from './load-config.js'
