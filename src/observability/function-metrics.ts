/**
 * @module FunctionMetrics: the in-memory tally of every function's invocations, fed by the
 * instance pool through core's `InvocationObserver`. Cumulative counters and histograms feed
 * `/metrics`; per-minute buckets (rolled up to hours past their retention) feed FunctionGraph's
 * statistics methods; hourly usage is handed to a `UsageRepository` in batches, off the hot path.
 */
import type {
  FunctionRecord,
  InvocationObserver,
  InvocationRecord,
  UsageHour,
  UsageRepository,
} from '../core/index.js'

/** Histogram bounds (seconds) shared by duration, queue wait and init time. */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
]
const BOUNDS_MS = LATENCY_BUCKETS_S.map((s) => s * 1000)

const MINUTE_MS = 60_000
const HOUR_MS = 3_600_000

/** Counts per bucket (the last is +Inf, not cumulative) and the sum, in ms. */
export class LatencyHistogram {
  readonly counts = new Float64Array(BOUNDS_MS.length + 1)
  sumMs = 0
  total = 0

  observe(ms: number): void {
    let i = 0
    for (const bound of BOUNDS_MS) {
      if (ms <= bound) {
        break
      }
      i++
    }
    this.counts[i] = (this.counts[i] ?? 0) + 1
    this.sumMs += ms
    this.total++
  }
}

/** What one function did in one minute (or, once rolled up, one hour). */
export interface StatsBucket {
  /** Start, in minutes since the epoch. */
  readonly minute: number
  count: number
  functionErrors: number
  systemErrors: number
  rejects: number
  durationSumMs: number
  durationMaxMs: number
  durationMinMs: number
  concurrencyMax: number
  instancesMax: number
  coldStarts: number
}

function newBucket(minute: number): StatsBucket {
  return {
    minute,
    count: 0,
    functionErrors: 0,
    systemErrors: 0,
    rejects: 0,
    durationSumMs: 0,
    durationMaxMs: 0,
    durationMinMs: Number.POSITIVE_INFINITY,
    concurrencyMax: 0,
    instancesMax: 0,
    coldStarts: 0,
  }
}

function mergeInto(into: StatsBucket, from: StatsBucket): void {
  into.count += from.count
  into.functionErrors += from.functionErrors
  into.systemErrors += from.systemErrors
  into.rejects += from.rejects
  into.durationSumMs += from.durationSumMs
  into.durationMaxMs = Math.max(into.durationMaxMs, from.durationMaxMs)
  into.durationMinMs = Math.min(into.durationMinMs, from.durationMinMs)
  into.concurrencyMax = Math.max(into.concurrencyMax, from.concurrencyMax)
  into.instancesMax = Math.max(into.instancesMax, from.instancesMax)
  into.coldStarts += from.coldStarts
}

/** Everything kept of one function (all its versions). */
export class FunctionTally {
  invocations = 0
  throttles = 0
  coldStarts = 0
  systemErrors = 0
  gbSeconds = 0
  readonly errorsByType = new Map<string, number>()
  readonly duration = new LatencyHistogram()
  readonly queueWait = new LatencyHistogram()
  readonly init = new LatencyHistogram()
  inflight = 0
  /** Minute buckets, oldest first; the last is the current one. */
  readonly minutes: StatsBucket[] = []
  /** Hour buckets rolled up from minutes past their retention, oldest first. */
  readonly hours: StatsBucket[] = []
  usageHourMs = 0
  usageRequests = 0
  usageGbSeconds = 0

  constructor(
    readonly projectId: string,
    readonly functionId: string,
    /** `package/name`, the `function` label. */
    readonly name: string,
  ) {}

  bucketAt(ms: number): StatsBucket {
    const minute = Math.floor(ms / MINUTE_MS)
    const last = this.minutes[this.minutes.length - 1]
    if (last !== undefined && last.minute >= minute) {
      return last // a late report (an end stamped just before the minute turned) joins the newest
    }
    const bucket = newBucket(minute)
    this.minutes.push(bucket)
    return bucket
  }
}

export interface FunctionMetricsOptions {
  /** Minute buckets kept (default 24 h), then rolled up to hours. */
  readonly minuteRetention?: number
  /** Hour buckets kept in memory (default 7 days); usage hours are durable. */
  readonly hourRetention?: number
  readonly usage?: UsageRepository
  /** Live instances per function id, sampled every few seconds. */
  readonly instances?: () => ReadonlyMap<string, number>
  readonly onError?: (err: unknown) => void
  readonly now?: () => number
}

/** One FunctionGraph series point: `value` -1 means no data. */
export interface SeriesPoint {
  readonly timestamp: number
  readonly value: number
}

export interface StatisticsSeries {
  count: SeriesPoint[]
  duration: SeriesPoint[]
  fail_count: SeriesPoint[]
  max_duration: SeriesPoint[]
  min_duration: SeriesPoint[]
  reject_count: SeriesPoint[]
  function_error_count: SeriesPoint[]
  system_error_count: SeriesPoint[]
  reserved_instance_num: SeriesPoint[]
  concurrency_num: SeriesPoint[]
  instance_num: SeriesPoint[]
}

/** What `listFunctionAsMetric` may rank functions by. */
export const RANKING_TYPES = [
  'count',
  'fail_count',
  'reject_count',
  'duration',
  'max_duration',
  'function_error_count',
  'system_error_count',
] as const
export type RankingType = (typeof RANKING_TYPES)[number]

export class FunctionMetrics implements InvocationObserver {
  readonly #tallies = new Map<string, FunctionTally>()
  readonly #minuteRetention: number
  readonly #hourRetention: number
  readonly #o: FunctionMetricsOptions
  readonly #now: () => number
  /** Usage hours that ended and are not written yet. */
  #pendingUsage: UsageHour[] = []
  #timer: NodeJS.Timeout | undefined
  #ticks = 0

  constructor(options: FunctionMetricsOptions = {}) {
    this.#o = options
    this.#minuteRetention = options.minuteRetention ?? 24 * 60
    this.#hourRetention = options.hourRetention ?? 7 * 24
    this.#now = options.now ?? Date.now
  }

  #tally(fn: FunctionRecord): FunctionTally {
    let t = this.#tallies.get(fn.id)
    if (t === undefined) {
      t = new FunctionTally(fn.projectId, fn.id, `${fn.packageName}/${fn.name}`)
      this.#tallies.set(fn.id, t)
    }
    return t
  }

  began(fn: FunctionRecord): void {
    const t = this.#tally(fn)
    t.inflight++
    const b = t.bucketAt(this.#now())
    if (t.inflight > b.concurrencyMax) {
      b.concurrencyMax = t.inflight
    }
  }

  finished(fn: FunctionRecord, r: InvocationRecord, queueWaitMs: number, initMs: number): void {
    const t = this.#tally(fn)
    t.inflight = Math.max(0, t.inflight - 1)
    const endMs = r.startedAtMs + r.durationMs
    const b = t.bucketAt(endMs)
    t.invocations++
    b.count++
    const ms = r.durationMs
    t.duration.observe(ms)
    t.queueWait.observe(queueWaitMs)
    b.durationSumMs += ms
    if (ms > b.durationMaxMs) {
      b.durationMaxMs = ms
    }
    if (ms < b.durationMinMs) {
      b.durationMinMs = ms
    }
    if (initMs >= 0) {
      t.coldStarts++
      b.coldStarts++
      t.init.observe(initMs)
    }
    if (r.errorType !== undefined) {
      b.functionErrors++
      t.errorsByType.set(r.errorType, (t.errorsByType.get(r.errorType) ?? 0) + 1)
    }
    const gbs = (r.memorySizeMb / 1024) * (r.billedDurationMs / 1000)
    t.gbSeconds += gbs
    const hour = endMs - (endMs % HOUR_MS)
    if (hour !== t.usageHourMs) {
      this.#closeUsageHour(t)
      t.usageHourMs = hour
    }
    t.usageRequests++
    t.usageGbSeconds += gbs
  }

  broke(fn: FunctionRecord): void {
    const t = this.#tally(fn)
    t.inflight = Math.max(0, t.inflight - 1)
    this.#systemError(t)
  }

  refused(fn: FunctionRecord, code: string, userFault: boolean): void {
    if (code === 'TOO_MANY_REQUESTS') {
      const t = this.#tally(fn)
      t.throttles++
      t.bucketAt(this.#now()).rejects++
    } else if (!userFault) {
      this.#systemError(this.#tally(fn))
    }
  }

  #systemError(t: FunctionTally): void {
    const b = t.bucketAt(this.#now())
    t.invocations++
    t.systemErrors++
    b.count++
    b.systemErrors++
  }

  #closeUsageHour(t: FunctionTally): void {
    if (t.usageRequests > 0) {
      this.#pendingUsage.push({
        projectId: t.projectId,
        functionId: t.functionId,
        functionName: t.name,
        hourStartMs: t.usageHourMs,
        requests: t.usageRequests,
        gbSeconds: t.usageGbSeconds,
      })
    }
    t.usageRequests = 0
    t.usageGbSeconds = 0
  }

  /** Every function seen since start (for `/metrics`). */
  tallies(): IterableIterator<FunctionTally> {
    return this.#tallies.values()
  }

  /** Starts sampling instances (every 5 s) and rolling up and writing usage (every minute). */
  start(): void {
    this.#timer ??= setInterval(() => {
      this.sampleInstances()
      if (++this.#ticks % 12 === 0) {
        this.rollUp()
        void this.flushUsage()
      }
    }, 5_000)
    this.#timer.unref()
  }

  /** Stops the timer and writes what usage is left. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
    await this.flushUsage()
  }

  sampleInstances(): void {
    const counts = this.#o.instances?.()
    if (counts === undefined) {
      return
    }
    const now = this.#now()
    for (const [functionId, n] of counts) {
      const t = this.#tallies.get(functionId)
      if (t !== undefined && n > 0) {
        const b = t.bucketAt(now)
        b.instancesMax = Math.max(b.instancesMax, n)
      }
    }
  }

  /** Minutes past their retention become hours; hours past theirs go. */
  rollUp(): void {
    const nowMinute = Math.floor(this.#now() / MINUTE_MS)
    const oldestMinute = nowMinute - this.#minuteRetention
    const oldestHourMinute = nowMinute - this.#hourRetention * 60
    for (const t of this.#tallies.values()) {
      const expired = countWhile(t.minutes, (b) => b.minute < oldestMinute)
      for (const m of t.minutes.splice(0, expired)) {
        const hourMinute = m.minute - (m.minute % 60)
        let h = t.hours[t.hours.length - 1]
        if (h === undefined || h.minute !== hourMinute) {
          h = newBucket(hourMinute)
          t.hours.push(h)
        }
        mergeInto(h, m)
      }
      t.hours.splice(
        0,
        countWhile(t.hours, (b) => b.minute < oldestHourMinute),
      )
    }
  }

  /** Writes the usage gathered so far (finished hours and the current one's part). */
  async flushUsage(): Promise<void> {
    const usage = this.#o.usage
    if (usage === undefined) {
      return
    }
    for (const t of this.#tallies.values()) {
      this.#closeUsageHour(t)
    }
    const rows = this.#pendingUsage
    this.#pendingUsage = []
    if (rows.length === 0) {
      return
    }
    try {
      await usage.add(rows)
    } catch (err) {
      // Kept for the next flush: usage is billing data, and a failed write must not lose it.
      this.#pendingUsage.unshift(...rows)
      this.#o.onError?.(err)
    }
  }

  /**
   * FunctionGraph's series for one function (or every function of a project when `functionId` is
   * undefined) over `[fromMs, toMs)`, one point per `stepMinutes`. Counts are 0 where nothing ran;
   * durations and gauges are -1 (no data) there.
   */
  series(
    projectId: string,
    functionId: string | undefined,
    fromMs: number,
    toMs: number,
    stepMinutes: number,
  ): StatisticsSeries {
    const fromMinute = Math.floor(fromMs / MINUTE_MS)
    const slots = Math.max(1, Math.ceil((toMs - fromMs) / (stepMinutes * MINUTE_MS)))
    const merged: StatsBucket[] = []
    for (let i = 0; i < slots; i++) {
      merged.push(newBucket(fromMinute + i * stepMinutes))
    }
    for (const t of this.#tallies.values()) {
      if (t.projectId !== projectId || (functionId !== undefined && t.functionId !== functionId)) {
        continue
      }
      for (const b of [...t.hours, ...t.minutes]) {
        const slot = Math.floor((b.minute - fromMinute) / stepMinutes)
        const into = merged[slot]
        if (into !== undefined) {
          mergeInto(into, b)
        }
      }
    }
    const out: StatisticsSeries = {
      count: [],
      duration: [],
      fail_count: [],
      max_duration: [],
      min_duration: [],
      reject_count: [],
      function_error_count: [],
      system_error_count: [],
      reserved_instance_num: [],
      concurrency_num: [],
      instance_num: [],
    }
    for (const b of merged) {
      const timestamp = b.minute * MINUTE_MS
      const ran = b.count > 0
      const ms = (v: number): number => (ran ? Math.round(v * 1000) / 1000 : -1)
      out.count.push({ timestamp, value: b.count })
      out.fail_count.push({ timestamp, value: b.functionErrors + b.systemErrors })
      out.function_error_count.push({ timestamp, value: b.functionErrors })
      out.system_error_count.push({ timestamp, value: b.systemErrors })
      out.reject_count.push({ timestamp, value: b.rejects })
      out.duration.push({ timestamp, value: ms(b.durationSumMs / Math.max(1, b.count)) })
      out.max_duration.push({ timestamp, value: ms(b.durationMaxMs) })
      out.min_duration.push({ timestamp, value: ms(b.durationMinMs) })
      out.concurrency_num.push({ timestamp, value: b.concurrencyMax })
      out.instance_num.push({ timestamp, value: b.instancesMax })
      // Per function they are the reservation keeper's (showFuncReservedInstanceMetrics); the
      // strato_instances{state="reserved"} gauge counts them all.
      out.reserved_instance_num.push({ timestamp, value: 0 })
    }
    return out
  }

  /** A project's functions ranked by `type` over `[fromMs, toMs)`, highest first. */
  ranking(
    projectId: string,
    type: RankingType,
    fromMs: number,
    toMs: number,
  ): Array<{ key: string; value: number }> {
    const fromMinute = Math.floor(fromMs / MINUTE_MS)
    const toMinute = Math.ceil(toMs / MINUTE_MS)
    const rows: Array<{ key: string; value: number }> = []
    for (const t of this.#tallies.values()) {
      if (t.projectId !== projectId) {
        continue
      }
      const sum = newBucket(fromMinute)
      for (const b of [...t.hours, ...t.minutes]) {
        if (b.minute >= fromMinute && b.minute < toMinute) {
          mergeInto(sum, b)
        }
      }
      if (sum.count === 0 && sum.rejects === 0) {
        continue
      }
      rows.push({ key: t.name, value: rankValue(sum, type) })
    }
    return rows.sort((a, b) => b.value - a.value || a.key.localeCompare(b.key))
  }
}

/** How many leading buckets match (buckets are in time order). */
function countWhile(buckets: readonly StatsBucket[], matches: (b: StatsBucket) => boolean): number {
  const i = buckets.findIndex((b) => !matches(b))
  return i === -1 ? buckets.length : i
}

function rankValue(b: StatsBucket, type: RankingType): number {
  switch (type) {
    case 'count':
      return b.count
    case 'fail_count':
      return b.functionErrors + b.systemErrors
    case 'reject_count':
      return b.rejects
    case 'duration':
      return b.count === 0 ? 0 : Math.round((b.durationSumMs / b.count) * 1000) / 1000
    case 'max_duration':
      return Math.round(b.durationMaxMs * 1000) / 1000
    case 'function_error_count':
      return b.functionErrors
    case 'system_error_count':
      return b.systemErrors
  }
}
