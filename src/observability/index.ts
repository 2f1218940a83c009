/** @module observability: the platform logger and invocation tracing (metrics follow). */
export { createLogger } from './logger.js'
export type { Logger } from './logger.js'
export { Tracing } from './tracing.js'
export type { AcceptSpan, TracingOptions } from './tracing.js'
