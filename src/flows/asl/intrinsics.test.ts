import { expect, test } from 'vitest'
import { AslError } from './asl-error.js'
import type { JsonValue } from './definition.js'
import { evaluateIntrinsic, seededRandom } from './intrinsics.js'
import type { PathScope } from './json-path.js'

function scopeWith(seed = 1): PathScope {
  return {
    context: { StateMachine: { Name: 'orders-flow' } },
    variable: () => undefined,
    random: seededRandom(seed),
  }
}

function run(expression: string, input: JsonValue = {}, scope = scopeWith()): JsonValue {
  return evaluateIntrinsic(expression, input, scope)
}

function failure(expression: string, input: JsonValue = {}): AslError {
  try {
    run(expression, input)
  } catch (error) {
    if (error instanceof AslError) {
      return error
    }
    throw error
  }
  throw new Error('expected an AslError')
}

test('Format fills {} in order, renders objects like AWS and honours escaped braces', () => {
  expect(run("States.Format('a={} b={}', $.a, $.b)", { a: 'x', b: { k: 1, l: [] } })).toBe(
    'a=x b={k=1, l=[]}',
  )
  expect(run("States.Format('literal \\{\\} and {}', 5)")).toBe('literal {} and 5')
  expect(run("States.Format('it\\'s {}', null)")).toBe("it's null")
  expect(failure("States.Format('{} {}', 1)").error).toBe('States.IntrinsicFailure')
})

test('calls nest, and arguments may be literals of every JSON kind', () => {
  expect(
    run(
      "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), States.MathAdd(1, -1))",
    ),
  ).toBe('orders')
  expect(run("States.Array(1, -2.5, 'x', true, false, null)")).toEqual([
    1,
    -2.5,
    'x',
    true,
    false,
    null,
  ])
})

test('array functions', () => {
  expect(run('States.ArrayPartition($.a, 2)', { a: [1, 2, 3] })).toEqual([[1, 2], [3]])
  expect(run('States.ArrayContains($.a, $.v)', { a: [{ x: 1 }], v: { x: 1 } })).toBe(true)
  expect(run('States.ArrayRange(1, 9, 2)')).toEqual([1, 3, 5, 7, 9])
  expect(run('States.ArrayLength($.a)', { a: [1, 2] })).toBe(2)
  expect(run('States.ArrayUnique($.a)', { a: [1, 1, { b: 2 }, { b: 2 }, '1'] })).toEqual([
    1,
    { b: 2 },
    '1',
  ])
  expect(failure('States.ArrayRange(0, 2000, 1)').error).toBe('States.IntrinsicFailure')
  expect(failure('States.ArrayGetItem($.a, 5)', { a: [1] }).error).toBe('States.IntrinsicFailure')
})

test('encoding, hashing and JSON functions', () => {
  expect(run("States.Base64Encode('Data to encode')")).toBe('RGF0YSB0byBlbmNvZGU=')
  expect(run("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')")).toBe('Data to encode')
  expect(run("States.Hash('input data', 'MD5')")).toBe('812f45842bc6d66ee14572ce20db8e86')
  expect(failure("States.Hash('x', 'CRC32')").error).toBe('States.IntrinsicFailure')
  expect(run('States.StringToJson($.s)', { s: '{"a":[1]}' })).toEqual({ a: [1] })
  expect(run('States.JsonToString($.o)', { o: { a: [1] } })).toBe('{"a":[1]}')
  expect(run('States.JsonMerge($.a, $.b, false)', { a: { x: 1, y: 1 }, b: { y: 2 } })).toEqual({
    x: 1,
    y: 2,
  })
  expect(failure('States.JsonMerge($.a, $.a, true)', { a: {} }).error).toBe(
    'States.IntrinsicFailure',
  )
})

test('MathAdd rounds each operand half up; StringSplit drops empty parts', () => {
  expect(run('States.MathAdd(-1.5, -1.51)')).toBe(-3)
  expect(run("States.StringSplit(',a,,b;c', ',;')")).toEqual(['a', 'b', 'c'])
})

test('UUID and MathRandom are deterministic for the same random stream', () => {
  const a = run('States.UUID()', {}, scopeWith(7))
  expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  expect(run('States.UUID()', {}, scopeWith(7))).toBe(a)
  expect(run('States.UUID()', {}, scopeWith(8))).not.toBe(a)
  const r = run('States.MathRandom(10, 20)', {}, scopeWith(3))
  expect(r).toBeGreaterThanOrEqual(10)
  expect(r).toBeLessThan(20)
  expect(run('States.MathRandom(0, 1000, 42)', {}, scopeWith(1))).toBe(
    run('States.MathRandom(0, 1000, 42)', {}, scopeWith(2)),
  )
})

test('Strato.FirstPresent returns the first argument that resolves', () => {
  expect(run('Strato.FirstPresent($.a, $.b, 3)', { b: 'two' })).toBe('two')
  expect(run("Strato.FirstPresent($.a, 'fallback')", {})).toBe('fallback')
  expect(failure('Strato.FirstPresent($.a, $.b)').error).toBe('States.Runtime')
})

test('a missing path argument is States.Runtime, a malformed call States.IntrinsicFailure', () => {
  expect(failure('States.ArrayLength($.nope)').error).toBe('States.Runtime')
  expect(failure('States.ArrayLength($.a').error).toBe('States.IntrinsicFailure')
  expect(failure('States.NoSuchThing(1)').error).toBe('States.IntrinsicFailure')
})
