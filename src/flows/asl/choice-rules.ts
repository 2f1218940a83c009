/**
 * @module Choice rules in JSONPath mode: `And`/`Or`/`Not`, the comparison operators and their
 * `…Path` variants, `StringMatches`, the `Is…` type tests and timestamp comparisons.
 *
 * A comparison of mismatched types is false (not an error). A `Variable` (or `…Path` operand)
 * that selects nothing is `States.Runtime`, except under `IsPresent`, which exists to test it.
 */
import { AslError } from './asl-error.js'
import type { JsonObject, JsonValue } from './definition.js'
import { lookupPath, readPath, type PathScope } from './json-path.js'

type Comparison = 'Equals' | 'LessThan' | 'GreaterThan' | 'LessThanEquals' | 'GreaterThanEquals'
type Family = 'String' | 'Numeric' | 'Boolean' | 'Timestamp'

const FAMILIES: readonly Family[] = ['String', 'Numeric', 'Boolean', 'Timestamp']
const COMPARISONS: readonly Comparison[] = [
  'Equals',
  'LessThan',
  'GreaterThan',
  'LessThanEquals',
  'GreaterThanEquals',
]

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/

/**
 * Epoch milliseconds of an RFC 3339 timestamp as ASL accepts it (uppercase `T`, a `Z` or an
 * offset), or undefined when the string is not one.
 */
export function parseTimestamp(value: string): number | undefined {
  const m = TIMESTAMP.exec(value)
  if (m === null) {
    return undefined
  }
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map(Number)
  const check = new Date(Date.UTC(year, month - 1, day, hour, minute, second))
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    return undefined
  }
  const parsed = Date.parse(value)
  return Number.isNaN(parsed) ? undefined : parsed
}

const patterns = new Map<string, RegExp>()
const MAX_PATTERNS = 500

/** `*` matches any run of characters; `\*` and `\\` are a literal star and backslash. */
export function stringMatches(value: string, pattern: string): boolean {
  let compiled = patterns.get(pattern)
  if (compiled === undefined) {
    compiled = wildcardPattern(pattern)
    if (patterns.size >= MAX_PATTERNS) {
      patterns.clear()
    }
    patterns.set(pattern, compiled)
  }
  return compiled.test(value)
}

function wildcardPattern(pattern: string): RegExp {
  let regex = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? ''
    if (c === '\\' && i + 1 < pattern.length) {
      regex += escapeRegex(pattern[++i] ?? '')
    } else if (c === '*') {
      regex += '[\\s\\S]*'
    } else {
      regex += escapeRegex(c)
    }
  }
  return new RegExp(regex + '$')
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

function compareOrdered<T>(a: T, b: T, op: Comparison): boolean {
  switch (op) {
    case 'Equals':
      return a === b
    case 'LessThan':
      return a < b
    case 'GreaterThan':
      return a > b
    case 'LessThanEquals':
      return a <= b
    case 'GreaterThanEquals':
      return a >= b
  }
}

function compare(family: Family, op: Comparison, value: JsonValue, operand: JsonValue): boolean {
  switch (family) {
    case 'String':
      return (
        typeof value === 'string' &&
        typeof operand === 'string' &&
        compareOrdered(value, operand, op)
      )
    case 'Numeric':
      return (
        typeof value === 'number' &&
        typeof operand === 'number' &&
        compareOrdered(value, operand, op)
      )
    case 'Boolean':
      return typeof value === 'boolean' && typeof operand === 'boolean' && value === operand
    case 'Timestamp': {
      if (typeof value !== 'string' || typeof operand !== 'string') {
        return false
      }
      const a = parseTimestamp(value)
      const b = parseTimestamp(operand)
      return a !== undefined && b !== undefined && compareOrdered(a, b, op)
    }
  }
}

function typeTest(test: string, value: JsonValue): boolean | undefined {
  switch (test) {
    case 'IsNull':
      return value === null
    case 'IsNumeric':
      return typeof value === 'number'
    case 'IsString':
      return typeof value === 'string'
    case 'IsBoolean':
      return typeof value === 'boolean'
    case 'IsTimestamp':
      return typeof value === 'string' && parseTimestamp(value) !== undefined
    default:
      return undefined
  }
}

const TYPE_TESTS = ['IsNull', 'IsNumeric', 'IsString', 'IsBoolean', 'IsTimestamp'] as const

function asRule(value: JsonValue | undefined, where: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AslError('States.Runtime', `${where} must be a choice rule object`)
  }
  return value
}

export function evaluateChoiceRule(rule: JsonObject, input: JsonValue, scope: PathScope): boolean {
  if (rule.And !== undefined) {
    const rules = Array.isArray(rule.And) ? rule.And : []
    return rules.every((r) => evaluateChoiceRule(asRule(r, 'And'), input, scope))
  }
  if (rule.Or !== undefined) {
    const rules = Array.isArray(rule.Or) ? rule.Or : []
    return rules.some((r) => evaluateChoiceRule(asRule(r, 'Or'), input, scope))
  }
  if (rule.Not !== undefined) {
    return !evaluateChoiceRule(asRule(rule.Not, 'Not'), input, scope)
  }

  const variable = rule.Variable
  if (typeof variable !== 'string') {
    throw new AslError('States.Runtime', 'A choice rule needs And, Or, Not or a Variable')
  }
  if (rule.IsPresent !== undefined) {
    return lookupPath(input, variable, scope).found === (rule.IsPresent === true)
  }
  const value = readPath(input, variable, scope)

  for (const test of TYPE_TESTS) {
    const expected = rule[test]
    if (expected !== undefined) {
      return typeTest(test, value) === (expected === true)
    }
  }
  if (rule.StringMatches !== undefined) {
    return (
      typeof value === 'string' &&
      typeof rule.StringMatches === 'string' &&
      stringMatches(value, rule.StringMatches)
    )
  }
  for (const family of FAMILIES) {
    for (const op of COMPARISONS) {
      if (family === 'Boolean' && op !== 'Equals') {
        continue
      }
      const name = `${family}${op}`
      const literal = rule[name]
      if (literal !== undefined) {
        return compare(family, op, value, literal)
      }
      const path = rule[`${name}Path`]
      if (path !== undefined) {
        if (typeof path !== 'string') {
          throw new AslError('States.Runtime', `${name}Path must be a path`)
        }
        return compare(family, op, value, readPath(input, path, scope))
      }
    }
  }
  throw new AslError('States.Runtime', `The choice rule on ${variable} has no known operator`)
}
