import { expect, test } from 'vitest'
import type { JsonValue } from '../asl/definition.js'
import { evaluateChoiceRule } from '../asl/choice-rules.js'
import { conditionToChoiceRule, ExpressionError, parseCondition } from './condition-expression.js'

const scope = { context: {}, variable: () => undefined, random: () => 0.5 }

/** Parses, compiles to a Choice rule and evaluates it the way the engine will. */
function holds(expression: string, data: JsonValue): boolean {
  return evaluateChoiceRule(conditionToChoiceRule(parseCondition(expression)), data, scope)
}

function errorOf(expression: string): ExpressionError {
  try {
    parseCondition(expression)
  } catch (err) {
    if (err instanceof ExpressionError) {
      return err
    }
    throw err
  }
  throw new Error(`"${expression}" parsed`)
}

test('comparisons parse into path, operator and literal', () => {
  expect(parseCondition('$.errorCode == 500')).toEqual({
    kind: 'compare',
    path: '$.errorCode',
    operator: '==',
    value: 500,
  })
  expect(parseCondition("@.a['b c'][2] != 'x'")).toEqual({
    kind: 'compare',
    path: "$.a['b c'][2]",
    operator: '!=',
    value: 'x',
  })
  // a literal on the left mirrors the operator
  expect(parseCondition('2 < $.n')).toEqual({
    kind: 'compare',
    path: '$.n',
    operator: '>',
    value: 2,
  })
})

test('&& binds tighter than || and parentheses regroup', () => {
  const flat = parseCondition('$.a == 1 || $.b == 2 && $.c == 3')
  expect(flat).toMatchObject({ kind: 'or', operands: [{ path: '$.a' }, { kind: 'and' }] })
  const grouped = parseCondition('($.a == 1 || $.b == 2) && $.c == 3')
  expect(grouped).toMatchObject({ kind: 'and', operands: [{ kind: 'or' }, { path: '$.c' }] })
  expect(holds('$.a == 1 || $.b == 2 && $.c == 3', { a: 1, b: 0, c: 0 })).toBe(true)
  expect(holds('($.a == 1 || $.b == 2) && $.c == 3', { a: 1, b: 0, c: 0 })).toBe(false)
})

test('each literal type compares with its own ASL operator', () => {
  const data = { n: 3.5, s: 'abc', t: true, z: null }
  expect(holds('$.n == 3.5', data)).toBe(true)
  expect(holds('$.n >= 3.5 && $.n < 4 && $.n > -1e3 && $.n <= 3.5', data)).toBe(true)
  expect(holds("$.s == 'abc'", data)).toBe(true)
  expect(holds("$.s != 'abd'", data)).toBe(true)
  expect(holds('$.t == true', data)).toBe(true)
  expect(holds('$.t != false', data)).toBe(true)
  expect(holds('$.z == null', data)).toBe(true)
  expect(holds('$.s == null', data)).toBe(false)
  // a value of another type is not equal
  expect(holds("$.n == '3.5'", data)).toBe(false)
  expect(holds("$.n != '3.5'", data)).toBe(true)
})

test("'*' is a wildcard with ==, and == '*' matches any present value", () => {
  expect(holds("$.msg == 'time*out'", { msg: 'timed in' })).toBe(false)
  expect(holds("$.msg == 'time*out'", { msg: 'time ran out' })).toBe(true)
  expect(holds("$.msg == '*'", { msg: 42 })).toBe(true)
  expect(holds("$.msg == '*'", {})).toBe(false)
})

test('a comparison on a missing path is false, != included, and never an error', () => {
  expect(holds('$.missing == 1', { other: 1 })).toBe(false)
  expect(holds('$.missing != 1', { other: 1 })).toBe(false)
  expect(holds('$.deep.er < 5', { deep: 1 })).toBe(false)
})

test('a root other than $ is substituted into every path', () => {
  const rule = conditionToChoiceRule(parseCondition('$.errorCode == 500'), '$.error')
  expect(rule).toEqual({
    And: [
      { Variable: '$.error.errorCode', IsPresent: true },
      { Variable: '$.error.errorCode', NumericEquals: 500 },
    ],
  })
})

test('syntax errors name what was expected and the position', () => {
  expect(errorOf('').message).toBe('The expression is empty at position 0')
  expect(errorOf('$.a = 1')).toMatchObject({ position: 4 })
  expect(errorOf('$.a == ').message).toMatch(/Expected a JSONPath .* at position 7/)
  expect(errorOf("$.a == 'open")).toMatchObject({ position: 7 })
  expect(errorOf('$.a == 1 &&')).toMatchObject({ position: 11 })
  expect(errorOf('($.a == 1').message).toBe('Expected ")" at position 9')
  expect(errorOf('$.a == 1 $.b').message).toMatch(/^Unexpected "\$\.b" at position 9/)
  expect(errorOf('1 == 2').message).toMatch(/needs a JSONPath/)
  expect(errorOf('$.a == $.b').message).toMatch(/two paths cannot be compared/)
})

test('operators and paths the engine cannot evaluate are refused', () => {
  expect(errorOf("$.a < 'x'").message).toBe('< compares numbers only at position 4')
  expect(errorOf("$.a != 'x*'").message).toMatch(/wildcard '\*' is allowed only with ==/)
  expect(errorOf('$..a == 1').message).toMatch(/deep scan/)
  expect(errorOf('$.a[*] == 1').message).toMatch(/no filters, slices or \*/)
  expect(errorOf('$.a[?(@.b == 1)] == 1')).toMatchObject({ position: 3 })
  expect(errorOf('$.a[0:2] == 1').message).toMatch(/no filters, slices/)
  expect(errorOf('$.* == 1').message).toMatch(/wildcard/)
})
