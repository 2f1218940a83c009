/**
 * @module The Prometheus registry `/metrics` serves (prom-client): the function tallies, read at
 * scrape time, plus platform gauges (instances, async queue) and prom-client's process metrics.
 * The invocation path only bumps plain numbers in `FunctionMetrics`; everything here runs when
 * Prometheus scrapes.
 */
import { Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client'
import {
  LATENCY_BUCKETS_S,
  type FunctionMetrics,
  type FunctionTally,
  type LatencyHistogram,
} from './function-metrics.js'

export interface PlatformGauges {
  /** Live instances per state, from the pool. */
  readonly instances: () => {
    readonly idle: number
    readonly busy: number
    readonly starting: number
    readonly reserved?: number
  }
  /** Async events accepted and not run yet, and when the oldest was accepted. */
  readonly asyncBacklog?: () => {
    readonly waiting: number
    readonly oldestAcceptedAtMs: number | undefined
  }
  /** Async attempts running now, from the dispatcher. */
  readonly asyncInflight?: () => number
}

type Labels = Record<string, string>
interface Sample {
  readonly value: number
  readonly labels: Labels
  readonly metricName?: string
}

/**
 * A metric whose values are computed from the tallies when scraped. prom-client's registry only
 * calls `get()` on what it holds, so this plugs in beside its own classes without copying every
 * number into a prom-client child on the invocation path.
 */
class ScrapedMetric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    readonly samples: () => Sample[],
  ) {}

  get(): Promise<{
    name: string
    help: string
    type: string
    values: Sample[]
    aggregator: string
  }> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.samples(),
      aggregator: 'sum',
    })
  }
}

function histogramSamples(name: string, labels: Labels, h: LatencyHistogram): Sample[] {
  const out: Sample[] = []
  let cumulative = 0
  for (let i = 0; i < LATENCY_BUCKETS_S.length; i++) {
    cumulative += h.counts[i] ?? 0
    out.push({
      metricName: `${name}_bucket`,
      labels: { ...labels, le: String(LATENCY_BUCKETS_S[i]) },
      value: cumulative,
    })
  }
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.total })
  out.push({ metricName: `${name}_sum`, labels, value: h.sumMs / 1000 })
  out.push({ metricName: `${name}_count`, labels, value: h.total })
  return out
}

export function createMetricsRegistry(metrics: FunctionMetrics, gauges: PlatformGauges): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'strato_' })
  const perFunction = (
    name: string,
    help: string,
    value: (t: FunctionTally) => number,
  ): ScrapedMetric =>
    new ScrapedMetric(name, help, 'counter', () =>
      [...metrics.tallies()].map((t) => ({
        labels: { project: t.projectId, function: t.name },
        value: value(t),
      })),
    )
  const histogram = (
    name: string,
    help: string,
    pick: (t: FunctionTally) => LatencyHistogram,
  ): ScrapedMetric =>
    new ScrapedMetric(name, help, 'histogram', () =>
      [...metrics.tallies()].flatMap((t) =>
        histogramSamples(name, { project: t.projectId, function: t.name }, pick(t)),
      ),
    )
  const scraped = [
    perFunction(
      'strato_invocations_total',
      'Invocations that ran or failed (throttled calls excluded).',
      (t) => t.invocations,
    ),
    new ScrapedMetric(
      'strato_invocation_errors_total',
      'Failed invocations, by kind (function or system) and error type.',
      'counter',
      () =>
        [...metrics.tallies()].flatMap((t) => [
          ...[...t.errorsByType].map(([type, n]) => ({
            labels: { project: t.projectId, function: t.name, kind: 'function', error_type: type },
            value: n,
          })),
          ...(t.systemErrors > 0
            ? [
                {
                  labels: {
                    project: t.projectId,
                    function: t.name,
                    kind: 'system',
                    error_type: 'SystemError',
                  },
                  value: t.systemErrors,
                },
              ]
            : []),
        ]),
    ),
    perFunction(
      'strato_throttles_total',
      'Calls refused with 429 because every instance was busy.',
      (t) => t.throttles,
    ),
    perFunction(
      'strato_cold_starts_total',
      'Invocations that started an instance.',
      (t) => t.coldStarts,
    ),
    perFunction(
      'strato_gb_seconds_total',
      'Memory size (GB) times billed duration (s), summed.',
      (t) => t.gbSeconds,
    ),
    histogram(
      'strato_invocation_duration_seconds',
      'Time the function ran, per invocation.',
      (t) => t.duration,
    ),
    histogram(
      'strato_queue_wait_seconds',
      'Time an invocation waited for a free instance (starts excluded).',
      (t) => t.queueWait,
    ),
    histogram(
      'strato_init_duration_seconds',
      'Time a cold start took until the instance was ready.',
      (t) => t.init,
    ),
  ]
  for (const m of scraped) {
    // prom-client types its registry's entries as its own classes; it only calls get() on them.
    registry.registerMetric(m as unknown as Metric)
  }
  new Gauge({
    name: 'strato_concurrent_invocations',
    help: 'Invocations of the function running now.',
    labelNames: ['project', 'function'],
    registers: [registry],
    collect() {
      this.reset()
      for (const t of metrics.tallies()) {
        this.set({ project: t.projectId, function: t.name }, t.inflight)
      }
    },
  })
  new Gauge({
    name: 'strato_instances',
    help: 'Live instances by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const s = gauges.instances()
      this.set({ state: 'idle' }, s.idle)
      this.set({ state: 'busy' }, s.busy)
      this.set({ state: 'starting' }, s.starting)
      this.set({ state: 'reserved' }, s.reserved ?? 0)
    },
  })
  const backlog = gauges.asyncBacklog
  new Gauge({
    name: 'strato_async_queue_depth',
    help: 'Async events accepted and not run yet.',
    registers: [registry],
    collect() {
      this.set(backlog?.().waiting ?? 0)
    },
  })
  new Gauge({
    name: 'strato_async_queue_oldest_age_seconds',
    help: 'Age of the oldest async event not run yet (0 when none waits).',
    registers: [registry],
    collect() {
      const oldest = backlog?.().oldestAcceptedAtMs
      this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000))
    },
  })
  new Gauge({
    name: 'strato_async_inflight',
    help: 'Async attempts running now.',
    registers: [registry],
    collect() {
      this.set(gauges.asyncInflight?.() ?? 0)
    },
  })
  return registry
}
