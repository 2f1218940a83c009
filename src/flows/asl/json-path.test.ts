import { expect, test } from 'vitest'
import { AslError } from './asl-error.js'
import type { JsonValue } from './definition.js'
import {
  isDefinitePath,
  lookupPath,
  readPath,
  writeResultPath,
  type PathScope,
} from './json-path.js'

const scope: PathScope = {
  context: { Execution: { Name: 'run-1' }, Map: { Item: { Index: 2 } } },
  variable: (name) => (({ limit: 10, user: { id: 'u1' } }) as Record<string, JsonValue>)[name],
  random: () => 0.5,
}

function thrown(fn: () => unknown): AslError {
  try {
    fn()
  } catch (error) {
    if (error instanceof AslError) {
      return error
    }
    throw error
  }
  throw new Error('expected an AslError')
}

test('a definite path returns the value itself', () => {
  const data = { a: { b: [10, 20, { c: 'x' }] } }
  expect(readPath(data, '$', scope)).toEqual(data)
  expect(readPath(data, '$.a.b[1]', scope)).toBe(20)
  expect(readPath(data, "$['a']['b'][2].c", scope)).toBe('x')
})

test('an indefinite path returns the list of matches, possibly empty', () => {
  const data = { items: [{ n: 1 }, { n: 5 }, { n: 9 }] }
  expect(readPath(data, '$.items[*].n', scope)).toEqual([1, 5, 9])
  expect(readPath(data, '$..n', scope)).toEqual([1, 5, 9])
  expect(readPath(data, '$.items[?(@.n > 4)].n', scope)).toEqual([5, 9])
  expect(readPath(data, '$.items[?(@.n > 100)]', scope)).toEqual([])
})

test('$$ reads the context object and $name a variable', () => {
  expect(readPath({}, '$$.Execution.Name', scope)).toBe('run-1')
  expect(readPath({}, '$$.Map.Item.Index', scope)).toBe(2)
  expect(readPath({}, '$limit', scope)).toBe(10)
  expect(readPath({}, '$user.id', scope)).toBe('u1')
})

test('a missing leaf and a missing intermediate are worded as AWS words them', () => {
  expect(thrown(() => readPath({}, '$.NoSuchInputPath', scope)).cause).toBe(
    "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']",
  )
  const missing = thrown(() => readPath({}, '$.no.such.result.path', scope))
  expect(missing.error).toBe('States.Runtime')
  expect(missing.cause).toBe(
    "Invalid path '$.no.such.result.path' : Missing property in path $['no']",
  )
})

test('an unset variable is not found', () => {
  expect(lookupPath({}, '$nope', scope).found).toBe(false)
})

test('a bracket key keeps backslashes other than an escaped quote', () => {
  const data: JsonValue = { 'Test\\""Name"': 1, "it's": 2 }
  expect(readPath(data, `$['Test\\""Name"']`, scope)).toBe(1)
  expect(readPath(data, "$['it\\'s']", scope)).toBe(2)
})

test('definite and indefinite paths are told apart', () => {
  expect(isDefinitePath('$.a.b[0]')).toBe(true)
  expect(isDefinitePath('$..a')).toBe(false)
  expect(isDefinitePath('$.a[*]')).toBe(false)
  expect(isDefinitePath('$.a[1:2]')).toBe(false)
})

test('ResultPath: absent or $ takes the result, null keeps the raw input', () => {
  expect(writeResultPath({ a: 1 }, undefined, 'r')).toBe('r')
  expect(writeResultPath({ a: 1 }, '$', 'r')).toBe('r')
  expect(writeResultPath({ a: 1 }, null, 'r')).toEqual({ a: 1 })
})

test('ResultPath sets a nested field, creating objects, without changing the raw input', () => {
  const raw = { a: 1, keep: { x: 1 } }
  const out = writeResultPath(raw, '$.keep.y.z', 'r')
  expect(out).toEqual({ a: 1, keep: { x: 1, y: { z: 'r' } } })
  expect(raw).toEqual({ a: 1, keep: { x: 1 } })
})

test('ResultPath through a non-object is States.ResultPathMatchFailure', () => {
  expect(thrown(() => writeResultPath('text', '$.a', 1)).error).toBe(
    'States.ResultPathMatchFailure',
  )
  expect(thrown(() => writeResultPath({ a: 'text' }, '$.a.b', 1)).error).toBe(
    'States.ResultPathMatchFailure',
  )
})

test('ResultPath copies the containers on its path and leaves the raw input as it was', () => {
  const raw = { a: { b: { c: 1 } }, list: [{ x: 1 }], untouched: { deep: [1] } }
  const out = writeResultPath(raw, '$.list[0].y', 2) as typeof raw & { list: [{ y: number }] }
  expect(out.list[0]).toEqual({ x: 1, y: 2 })
  expect(raw.list[0]).toEqual({ x: 1 })
  expect(out.untouched).toBe(raw.untouched)
})
