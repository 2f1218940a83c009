import { expect, test } from 'vitest'
import { seededRandom } from './seeded-random.js'

test('the same seed and path draw the same numbers, in [0,1)', () => {
  const first = seededRandom('exec-1', 'Loop#1/i2/Work#1')
  const again = seededRandom('exec-1', 'Loop#1/i2/Work#1')
  const drawn = [first(), first(), first()]
  expect([again(), again(), again()]).toEqual(drawn)
  for (const value of drawn) {
    expect(value).toBeGreaterThanOrEqual(0)
    expect(value).toBeLessThan(1)
  }
  expect(new Set(drawn).size).toBe(3)
})

test('another path or seed draws other numbers', () => {
  const base = seededRandom('exec-1', 'A#1')()
  expect(seededRandom('exec-1', 'A#2')()).not.toBe(base)
  expect(seededRandom('exec-2', 'A#1')()).not.toBe(base)
})
