import { expect, test } from 'vitest'
import { BoundedMemo } from './bounded-memo.js'

test('a full memo starts over: it never holds more than its capacity', () => {
  const memo = new BoundedMemo<string, number>(2)
  expect(memo.set('a', 1)).toBe(1)
  memo.set('b', 2)
  expect([memo.get('a'), memo.get('b')]).toEqual([1, 2])
  memo.set('c', 3)
  expect([memo.get('a'), memo.get('b'), memo.get('c')]).toEqual([undefined, undefined, 3])
})
