import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import { delay } from './function-calls.js'
import { MAX_TIMER_MS, setLongTimeout } from './long-timer.js'

const DAY = 24 * 60 * 60 * 1000

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

test('a wait longer than 24.8 days (2^31-1 ms) fires at its deadline, not after 1 ms', async () => {
  let done = false
  void delay(30 * DAY, new AbortController().signal).then(() => {
    done = true
  })
  await vi.advanceTimersByTimeAsync(1000)
  expect(done).toBe(false)
  await vi.advanceTimersByTimeAsync(MAX_TIMER_MS)
  expect(done).toBe(false)
  await vi.advanceTimersByTimeAsync(30 * DAY - MAX_TIMER_MS - 1001)
  expect(done).toBe(false)
  await vi.advanceTimersByTimeAsync(2)
  expect(done).toBe(true)
})

test('a long timer can be cancelled after it has re-armed', async () => {
  const fire = vi.fn()
  const cancel = setLongTimeout(fire, 60 * DAY)
  await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 10)
  cancel()
  await vi.advanceTimersByTimeAsync(60 * DAY)
  expect(fire).not.toHaveBeenCalled()
})

test('a long delay rejects when its signal aborts', async () => {
  const controller = new AbortController()
  const waiting = delay(40 * DAY, controller.signal)
  await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 10)
  controller.abort()
  await expect(waiting).rejects.toThrow()
})
