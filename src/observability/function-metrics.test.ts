import { expect, test } from 'vitest'
import type { InvocationRecord, UsageHour } from '../core/index.js'
import { functionRecordOf } from '../../test/helpers/fakes.js'
import { FunctionMetrics } from './function-metrics.js'

const T0 = Date.UTC(2026, 11, 6, 10, 0, 0)
const MINUTE = 60_000

function recordAt(startMs: number, durationMs: number, errorType?: string): InvocationRecord {
  return {
    requestId: 'r',
    version: 'latest',
    startedAtMs: startMs,
    durationMs,
    billedDurationMs: Math.max(1, Math.ceil(durationMs)),
    memorySizeMb: 512,
    memoryUsedMb: 10,
    errorType,
    errorMessage: undefined,
    output: '',
  }
}

function run(m: FunctionMetrics, at: number, ms: number, errorType?: string, initMs = -1): void {
  const fn = functionRecordOf()
  m.began(fn)
  m.finished(fn, recordAt(at, ms, errorType), 0, initMs)
}

test('series: one point per minute, counts 0 and durations -1 where nothing ran', () => {
  let now = T0
  const m = new FunctionMetrics({ now: () => now })
  run(m, T0 + 1_000, 10)
  run(m, T0 + 2_000, 30, 'Error', 200)
  now = T0 + 2 * MINUTE + 5_000
  m.refused(functionRecordOf(), 'TOO_MANY_REQUESTS', true)
  m.refused(functionRecordOf(), 'CLIENT_CLOSED', true) // the caller's doing: not counted
  m.refused(functionRecordOf(), 'INTERNAL', false)
  const s = m.series('p1', 'f1', T0, T0 + 3 * MINUTE, 1)
  expect(s.count.map((p) => p.value)).toEqual([2, 0, 1])
  expect(s.count.map((p) => p.timestamp)).toEqual([T0, T0 + MINUTE, T0 + 2 * MINUTE])
  expect(s.fail_count.map((p) => p.value)).toEqual([1, 0, 1])
  expect(s.function_error_count.map((p) => p.value)).toEqual([1, 0, 0])
  expect(s.system_error_count.map((p) => p.value)).toEqual([0, 0, 1])
  expect(s.reject_count.map((p) => p.value)).toEqual([0, 0, 1])
  expect(s.duration.map((p) => p.value)).toEqual([20, -1, 0])
  expect(s.max_duration[0]?.value).toBe(30)
  expect(s.min_duration[0]?.value).toBe(10)
  expect(s.min_duration[1]?.value).toBe(-1)
  // Another project sees nothing of it.
  expect(m.series('p2', undefined, T0, T0 + MINUTE, 1).count[0]?.value).toBe(0)
})

test('a throttled call is a throttle, not an invocation; histograms and cold starts', () => {
  const m = new FunctionMetrics({ now: () => T0 })
  run(m, T0, 2, undefined, 150)
  run(m, T0, 4000)
  m.refused(functionRecordOf(), 'TOO_MANY_REQUESTS', true)
  const [t] = [...m.tallies()]
  expect(t?.invocations).toBe(2)
  expect(t?.throttles).toBe(1)
  expect(t?.coldStarts).toBe(1)
  expect(t?.init.total).toBe(1)
  expect(t?.duration.total).toBe(2)
  expect(t?.duration.sumMs).toBe(4002)
  // 2 ms falls in the 5 ms bucket (index 1), 4 s in the 5 s one.
  expect(t?.duration.counts[1]).toBe(1)
  expect(t?.gbSeconds).toBeCloseTo((0.5 * (4000 + 2)) / 1000, 9)
})

test('concurrency is the most invocations running at once within the minute', () => {
  const m = new FunctionMetrics({ now: () => T0 })
  const fn = functionRecordOf()
  m.began(fn)
  m.began(fn)
  m.began(fn)
  m.finished(fn, recordAt(T0, 1), 0, -1)
  m.broke(fn)
  m.finished(fn, recordAt(T0, 1), 0, -1)
  expect(m.series('p1', 'f1', T0, T0 + MINUTE, 1).concurrency_num[0]?.value).toBe(3)
  expect([...m.tallies()][0]?.inflight).toBe(0)
})

test('minutes past their retention roll up into hours, and hours past theirs go', () => {
  let now = T0
  const m = new FunctionMetrics({ now: () => now, minuteRetention: 60, hourRetention: 3 })
  run(m, T0 + 1_000, 10)
  run(m, T0 + 30 * MINUTE, 50)
  now = T0 + 2 * 60 * MINUTE
  m.rollUp()
  const [t] = [...m.tallies()]
  expect(t?.minutes).toHaveLength(0)
  expect(t?.hours).toHaveLength(1)
  const hourly = m.series('p1', 'f1', T0, T0 + 60 * MINUTE, 60)
  expect(hourly.count.map((p) => p.value)).toEqual([2])
  expect(hourly.max_duration[0]?.value).toBe(50)
  now = T0 + 5 * 60 * MINUTE
  m.rollUp()
  expect(t?.hours).toHaveLength(0)
})

test('usage is written per function and hour; a failed write is kept for the next flush', async () => {
  const written: UsageHour[] = []
  let fail = true
  const m = new FunctionMetrics({
    now: () => T0,
    usage: {
      add(rows) {
        if (fail) {
          return Promise.reject(new Error('disk full'))
        }
        written.push(...rows)
        return Promise.resolve()
      },
      list: () => Promise.resolve([]),
    },
    onError: () => {},
  })
  run(m, T0 + 1_000, 1000) // 0.5 GB × 1 s
  run(m, T0 + 3_600_000, 2000) // the next hour: 1 GB-s
  await m.flushUsage()
  expect(written).toEqual([])
  fail = false
  run(m, T0 + 3_600_000, 2000)
  await m.flushUsage()
  expect(written.map((r) => [r.hourStartMs, r.requests, r.gbSeconds])).toEqual([
    [T0, 1, 0.5],
    [T0 + 3_600_000, 1, 1],
    [T0 + 3_600_000, 1, 1],
  ])
  expect(written[0]).toMatchObject({
    projectId: 'p1',
    functionId: 'f1',
    functionName: 'default/hello',
  })
  await m.flushUsage()
  expect(written).toHaveLength(3)
})

test('ranking orders a project functions by the metric asked for', () => {
  const m = new FunctionMetrics({ now: () => T0 })
  const a = functionRecordOf({ id: 'a', name: 'a' })
  const b = functionRecordOf({ id: 'b', name: 'b' })
  for (const [fn, n] of [
    [a, 1],
    [b, 3],
  ] as const) {
    for (let i = 0; i < n; i++) {
      m.began(fn)
      m.finished(fn, recordAt(T0, 5), 0, -1)
    }
  }
  m.refused(a, 'TOO_MANY_REQUESTS', true)
  expect(m.ranking('p1', 'count', T0, T0 + MINUTE)).toEqual([
    { key: 'default/b', value: 3 },
    { key: 'default/a', value: 1 },
  ])
  expect(m.ranking('p1', 'reject_count', T0, T0 + MINUTE)[0]).toEqual({
    key: 'default/a',
    value: 1,
  })
})
