import { afterEach, expect, test, vi } from 'vitest'
import { DEFAULT_AUDIT_MAX_AGE_MS, PruneSchedule } from './prune-schedule.js'

afterEach(() => {
  vi.useRealTimers()
})

test('audit records are pruned with the logs, hourly, by their own retention (7 days by default)', async () => {
  vi.useFakeTimers({ now: 10_000_000_000 })
  const logs: Date[] = []
  const audit: Date[] = []
  const schedule = new PruneSchedule(
    { prune: ({ before }) => (logs.push(before ?? new Date(0)), Promise.resolve()) },
    { prune: () => Promise.resolve() },
    { prune: (before) => (audit.push(before), Promise.resolve()) },
  )
  schedule.start({ maxAgeMs: 3_600_000, auditMaxAgeMs: 86_400_000, onError: () => undefined })
  expect(audit.map((d) => d.getTime())).toEqual([10_000_000_000 - 86_400_000])
  expect(logs.map((d) => d.getTime())).toEqual([10_000_000_000 - 3_600_000])
  await vi.advanceTimersByTimeAsync(3_600_000)
  expect(audit).toHaveLength(2)
  schedule.stop()
  const defaults: Date[] = []
  const other = new PruneSchedule(
    { prune: () => Promise.resolve() },
    { prune: () => Promise.resolve() },
    { prune: (before) => (defaults.push(before), Promise.resolve()) },
  )
  other.start({ maxAgeMs: 1, onError: () => undefined })
  expect(defaults[0]?.getTime()).toBe(Date.now() - DEFAULT_AUDIT_MAX_AGE_MS)
  expect(DEFAULT_AUDIT_MAX_AGE_MS).toBe(7 * 24 * 3_600_000)
  other.stop()
})
