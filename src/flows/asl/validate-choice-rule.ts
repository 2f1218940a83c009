/**
 * @module The shape of a Choice rule (validation only; evaluation is choice-rules.ts): a top-level
 * rule carries Next and one test, a nested rule no Next; a comparison is a Variable plus exactly
 * one operator; in JSONata mode a rule is a `Condition`.
 */
import type { QueryLanguage } from './definition.js'

const TYPES = ['String', 'Numeric', 'Boolean', 'Timestamp'] as const
const COMPARISONS = ['Equals', 'LessThan', 'GreaterThan', 'LessThanEquals', 'GreaterThanEquals']

const OPERATORS = new Set<string>([
  'StringMatches',
  'IsNull',
  'IsPresent',
  'IsNumeric',
  'IsString',
  'IsBoolean',
  'IsTimestamp',
  ...TYPES.flatMap((type) =>
    (type === 'Boolean' ? ['Equals'] : COMPARISONS).flatMap((comparison) => [
      `${type}${comparison}`,
      `${type}${comparison}Path`,
    ]),
  ),
])

type Json = { readonly [key: string]: unknown }

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The first problem of `rule` as a suffix for the caller's location (`.Variable must …`,
 * `.And[1]: …`), or undefined when the rule is well formed.
 */
export function validateChoiceRule(
  rule: Json,
  language: QueryLanguage,
  topLevel: boolean,
): string | undefined {
  if (!topLevel && rule['Next'] !== undefined) {
    return ': a nested rule cannot have Next'
  }
  const allowedExtra = new Set(['Next', 'Comment', 'Assign', 'Output'])
  if (language === 'JSONata') {
    const condition = rule['Condition']
    if (typeof condition !== 'string' && typeof condition !== 'boolean') {
      return '.Condition must be a JSONata expression or a boolean'
    }
    for (const key of Object.keys(rule)) {
      if (key !== 'Condition' && !allowedExtra.has(key)) {
        return `: field ${key} is not allowed`
      }
    }
    return undefined
  }
  const combinators = ['And', 'Or', 'Not'].filter((key) => rule[key] !== undefined)
  const operators = Object.keys(rule).filter((key) => OPERATORS.has(key))
  if (combinators.length + operators.length !== 1) {
    return ': a rule needs exactly one of And, Or, Not or a comparison operator'
  }
  for (const key of Object.keys(rule)) {
    if (
      key !== 'Variable' &&
      !allowedExtra.has(key) &&
      !OPERATORS.has(key) &&
      !combinators.includes(key)
    ) {
      return `: field ${key} is not allowed in a choice rule`
    }
  }
  const combinator = combinators[0]
  if (combinator === 'Not') {
    const inner = rule['Not']
    if (!isObject(inner)) {
      return '.Not must be a rule'
    }
    const problem = validateChoiceRule(inner, language, false)
    return problem === undefined ? undefined : `.Not${problem}`
  }
  if (combinator !== undefined) {
    const rules = rule[combinator]
    if (!Array.isArray(rules) || rules.length === 0) {
      return `.${combinator} must be a non-empty array`
    }
    for (const [index, inner] of rules.entries()) {
      if (!isObject(inner)) {
        return `.${combinator}[${index}] must be a rule`
      }
      const problem = validateChoiceRule(inner, language, false)
      if (problem !== undefined) {
        return `.${combinator}[${index}]${problem}`
      }
    }
    return undefined
  }
  const variable = rule['Variable']
  if (typeof variable !== 'string' || !variable.startsWith('$')) {
    return '.Variable must be a path starting with $'
  }
  const operator = operators[0] ?? ''
  const operand = rule[operator]
  if (operator.endsWith('Path')) {
    return typeof operand === 'string' && operand.startsWith('$')
      ? undefined
      : `.${operator} must be a path starting with $`
  }
  if (operator.startsWith('Is') || operator.startsWith('Boolean')) {
    return typeof operand === 'boolean' ? undefined : `.${operator} must be a boolean`
  }
  if (operator.startsWith('Numeric')) {
    return typeof operand === 'number' ? undefined : `.${operator} must be a number`
  }
  if (typeof operand !== 'string') {
    return `.${operator} must be a string`
  }
  if (operator.startsWith('Timestamp') && Number.isNaN(Date.parse(operand))) {
    return `.${operator} must be an ISO-8601 timestamp`
  }
  return undefined
}
