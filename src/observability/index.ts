/** @module observability: the platform logger (metrics and tracing follow). */
export { createLogger } from './logger.js'
export type { Logger } from './logger.js'
