import { expect, test } from 'vitest'
import { AslError } from './asl-error.js'
import { evaluateChoiceRule, parseTimestamp, stringMatches } from './choice-rules.js'
import type { JsonObject, JsonValue } from './definition.js'
import type { PathScope } from './json-path.js'

const scope: PathScope = {
  context: {},
  variable: (name) => (name === 'limit' ? 5 : undefined),
  random: () => 0,
}

function rule(r: JsonObject, input: JsonValue): boolean {
  return evaluateChoiceRule(r, input, scope)
}

test('comparisons and their Path variants; mismatched types are false', () => {
  expect(rule({ Variable: '$.n', NumericGreaterThan: 3 }, { n: 4 })).toBe(true)
  expect(rule({ Variable: '$.n', NumericGreaterThan: 3 }, { n: '4' })).toBe(false)
  expect(rule({ Variable: '$.n', NumericLessThanEqualsPath: '$.m' }, { n: 4, m: 4 })).toBe(true)
  expect(rule({ Variable: '$.n', NumericLessThanPath: '$limit' }, { n: 4 })).toBe(true)
  expect(rule({ Variable: '$.s', StringLessThan: 'b' }, { s: 'a' })).toBe(true)
  expect(rule({ Variable: '$.b', BooleanEquals: false }, { b: false })).toBe(true)
  expect(rule({ Variable: '$.b', BooleanEquals: false }, { b: 0 })).toBe(false)
})

test('And, Or and Not combine rules', () => {
  const input = { a: 1, b: 'x' }
  expect(
    rule(
      {
        And: [
          { Variable: '$.a', NumericEquals: 1 },
          { Variable: '$.b', StringEquals: 'x' },
        ],
      },
      input,
    ),
  ).toBe(true)
  expect(
    rule(
      {
        Or: [
          { Variable: '$.a', NumericEquals: 2 },
          { Not: { Variable: '$.b', StringEquals: 'y' } },
        ],
      },
      input,
    ),
  ).toBe(true)
})

test('a missing Variable is States.Runtime except under IsPresent', () => {
  expect(rule({ Variable: '$.nope', IsPresent: false }, {})).toBe(true)
  expect(rule({ Variable: '$.a', IsPresent: true }, { a: null })).toBe(true)
  expect(() => rule({ Variable: '$.nope', StringEquals: 'x' }, {})).toThrow(AslError)
})

test('type tests, including false meaning "is not"', () => {
  expect(rule({ Variable: '$.v', IsNull: true }, { v: null })).toBe(true)
  expect(rule({ Variable: '$.v', IsNull: false }, { v: 1 })).toBe(true)
  expect(rule({ Variable: '$.v', IsNumeric: true }, { v: 1.5 })).toBe(true)
  expect(rule({ Variable: '$.v', IsString: true }, { v: 1 })).toBe(false)
  expect(rule({ Variable: '$.v', IsBoolean: true }, { v: true })).toBe(true)
  expect(rule({ Variable: '$.v', IsTimestamp: true }, { v: '2016-03-14T01:59:00Z' })).toBe(true)
  expect(rule({ Variable: '$.v', IsTimestamp: true }, { v: '2016-03-14 01:59:00Z' })).toBe(false)
})

test('StringMatches: * is a wildcard, \\* a literal star', () => {
  expect(stringMatches('log-2024.txt', 'log-*.txt')).toBe(true)
  expect(stringMatches('a*b', 'a\\*b')).toBe(true)
  expect(stringMatches('axb', 'a\\*b')).toBe(false)
  expect(stringMatches('a.b', 'a.b')).toBe(true)
  expect(stringMatches('axb', 'a.b')).toBe(false)
})

test('timestamps compare by instant across offsets and reject impossible dates', () => {
  expect(
    rule(
      { Variable: '$.t', TimestampEquals: '2020-01-01T01:00:00+01:00' },
      { t: '2020-01-01T00:00:00Z' },
    ),
  ).toBe(true)
  expect(parseTimestamp('2016-13-05T21:29:29Z')).toBeUndefined()
  expect(parseTimestamp('2016-12-05T25:29:29Z')).toBeUndefined()
  expect(parseTimestamp('2016-12-05T21:29:29')).toBeUndefined()
  expect(parseTimestamp('2016-12-05T21:29:29.123Z')).toBe(Date.UTC(2016, 11, 5, 21, 29, 29, 123))
})
