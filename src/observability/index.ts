/**
 * @module observability: the platform logger, invocation tracing, and the function metrics that `/metrics` and the
 * statistics methods serve.
 */
export { createLogger } from './logger.js'
export type { Logger } from './logger.js'
export { FunctionMetrics, LATENCY_BUCKETS_S, RANKING_TYPES } from './function-metrics.js'
export type {
  FunctionMetricsOptions,
  RankingType,
  SeriesPoint,
  StatisticsSeries,
} from './function-metrics.js'
export { createMetricsRegistry } from './metrics-registry.js'
export type { PlatformGauges } from './metrics-registry.js'
export { Tracing } from './tracing.js'
export type { AcceptSpan, TracingOptions } from './tracing.js'
