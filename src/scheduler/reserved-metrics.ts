/**
 * @module Instance counts per function in one-minute buckets, in memory, for
 * `showFuncReservedInstanceMetrics`: the most instances (and reserved instances) seen in each
 * minute of the last hour. Bounded: 60 buckets per function that had instances in that hour.
 */

/** `SlaReportsValue`: a minute's start (ms) and its value. */
export interface MinuteValue {
  readonly timestamp: number
  readonly value: number
}

const MINUTE_MS = 60_000
/** Minutes kept and reported. */
export const RESERVED_METRICS_MINUTES = 60

interface Bucket {
  minute: number
  instances: number
  reserved: number
}

export class ReservedInstanceMetrics {
  readonly #byFunction = new Map<string, Bucket[]>()

  /** One sample of every function's counts; functions absent from `counts` had none. */
  record(
    nowMs: number,
    counts: ReadonlyMap<string, { instances: number; reserved: number }>,
  ): void {
    const minute = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS
    for (const [functionId, c] of counts) {
      const buckets = this.#byFunction.get(functionId) ?? []
      let last = buckets[buckets.length - 1]
      if (last?.minute !== minute) {
        last = { minute, instances: 0, reserved: 0 }
        buckets.push(last)
      }
      last.instances = Math.max(last.instances, c.instances)
      last.reserved = Math.max(last.reserved, c.reserved)
      this.#byFunction.set(functionId, buckets)
    }
    const oldest = minute - (RESERVED_METRICS_MINUTES - 1) * MINUTE_MS
    for (const [functionId, buckets] of this.#byFunction) {
      while (buckets[0] !== undefined && buckets[0].minute < oldest) {
        buckets.shift()
      }
      if (buckets.length === 0) {
        this.#byFunction.delete(functionId)
      }
    }
  }

  /** The last hour, one value per minute, oldest first; 0 for a minute without instances. */
  of(
    functionId: string,
    nowMs: number,
  ): { instanceNum: MinuteValue[]; reservedInstanceNum: MinuteValue[] } {
    const byMinute = new Map((this.#byFunction.get(functionId) ?? []).map((b) => [b.minute, b]))
    const current = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS
    const instanceNum: MinuteValue[] = []
    const reservedInstanceNum: MinuteValue[] = []
    for (let i = RESERVED_METRICS_MINUTES - 1; i >= 0; i--) {
      const timestamp = current - i * MINUTE_MS
      const b = byMinute.get(timestamp)
      instanceNum.push({ timestamp, value: b?.instances ?? 0 })
      reservedInstanceNum.push({ timestamp, value: b?.reserved ?? 0 })
    }
    return { instanceNum, reservedInstanceNum }
  }

  forget(functionId: string): void {
    this.#byFunction.delete(functionId)
  }
}
