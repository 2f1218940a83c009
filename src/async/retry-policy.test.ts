import { expect, test } from 'vitest'
import { RetryPolicy } from './retry-policy.js'

const policy = (random: number): RetryPolicy =>
  new RetryPolicy({
    functionErrorBaseMs: 60_000,
    systemErrorBaseMs: 1_000,
    systemErrorMaxMs: 300_000,
    random: () => random,
  })

test('retry policy: function errors back off 1, 2, 4 minutes, jittered between half and all of it', () => {
  expect([1, 2, 3].map((n) => policy(0).functionErrorDelayMs(n))).toEqual([30_000, 60_000, 120_000])
  expect([1, 2, 3].map((n) => policy(0.999999).functionErrorDelayMs(n))).toEqual([
    60_000, 120_000, 240_000,
  ])
})

test('retry policy: system errors double from the base and stop growing at the maximum', () => {
  expect([1, 2, 3].map((n) => policy(0.999999).systemErrorDelayMs(n))).toEqual([
    1_000, 2_000, 4_000,
  ])
  expect(policy(0.999999).systemErrorDelayMs(20)).toBe(300_000)
  expect(policy(0.999999).systemErrorDelayMs(5_000)).toBe(300_000)
})
