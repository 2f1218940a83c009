/**
 * @module Huawei's condition expressions (`on_errors[].error`, `data_conditions[].condition`):
 * `<JsonPath> <op> <literal>` joined with `&&`/`||` and parentheses (user guide, 表达式运算符说明).
 * Parsed here without a library so that an error can name the position; compiled to an ASL
 * Choice rule (JSONPath mode), which is what the engine evaluates.
 *
 * Semantics the compiled rules give (and docs/flows.md states):
 * * `==`/`!=` compare numbers, single-quoted strings, booleans and `null`; `<` `>` `<=` `>=` are
 *   numeric only. A value of another type than the literal is simply not equal.
 * * `'…*…'` with `==` is a wildcard match (ASL StringMatches); `== '*'` alone matches any value.
 * * A comparison whose path selects nothing is false, `!=` included (so a missing field never
 *   fails the run, as an ASL Choice on a missing Variable would).
 * * Paths are ASL reference paths: `$`, `.name`, `['name']`, `[0]`; `@` is accepted for `$`.
 *   Filters, wildcards, slices and `..` select several values and are refused.
 */
import type { JsonObject } from '../asl/definition.js'

export type Literal = string | number | boolean | null
export type ComparisonOperator = '==' | '!=' | '<' | '>' | '<=' | '>='

export type Condition =
  | { readonly kind: 'and' | 'or'; readonly operands: readonly Condition[] }
  | {
      readonly kind: 'compare'
      /** A reference path rooted at `$`. */
      readonly path: string
      readonly operator: ComparisonOperator
      readonly value: Literal
    }

/** A syntax error; `position` is the 0-based character offset in the expression. */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`)
    this.name = 'ExpressionError'
  }
}

const OPERATORS: readonly ComparisonOperator[] = ['==', '!=', '<=', '>=', '<', '>']

class Parser {
  private pos = 0

  constructor(private readonly src: string) {}

  parse(): Condition {
    this.skipSpace()
    if (this.pos >= this.src.length) {
      throw new ExpressionError('The expression is empty', 0)
    }
    const condition = this.parseOr()
    this.skipSpace()
    if (this.pos < this.src.length) {
      throw new ExpressionError(`Unexpected "${this.src.slice(this.pos, this.pos + 10)}"`, this.pos)
    }
    return condition
  }

  private parseOr(): Condition {
    const operands = [this.parseAnd()]
    while (this.take('||')) {
      operands.push(this.parseAnd())
    }
    return operands.length === 1 && operands[0] !== undefined
      ? operands[0]
      : { kind: 'or', operands }
  }

  private parseAnd(): Condition {
    const operands = [this.parsePrimary()]
    while (this.take('&&')) {
      operands.push(this.parsePrimary())
    }
    return operands.length === 1 && operands[0] !== undefined
      ? operands[0]
      : { kind: 'and', operands }
  }

  private parsePrimary(): Condition {
    this.skipSpace()
    if (this.take('(')) {
      const inner = this.parseOr()
      this.skipSpace()
      if (!this.take(')')) {
        throw new ExpressionError('Expected ")"', this.pos)
      }
      return inner
    }
    return this.parseComparison()
  }

  private parseComparison(): Condition {
    this.skipSpace()
    const start = this.pos
    const leftIsPath = this.atPath()
    const left = leftIsPath ? this.parsePath() : this.parseLiteral()
    this.skipSpace()
    const operatorAt = this.pos
    const operator = OPERATORS.find((op) => this.src.startsWith(op, this.pos))
    if (operator === undefined) {
      throw new ExpressionError('Expected one of == != < > <= >=', this.pos)
    }
    this.pos += operator.length
    this.skipSpace()
    const rightIsPath = this.atPath()
    if (leftIsPath === rightIsPath) {
      throw new ExpressionError(
        leftIsPath
          ? 'A comparison needs a literal on one side (two paths cannot be compared)'
          : 'A comparison needs a JSONPath ($…) on one side',
        leftIsPath ? this.pos : start,
      )
    }
    const right = rightIsPath ? this.parsePath() : this.parseLiteral()
    const path = (leftIsPath ? left : right) as string
    const value = leftIsPath ? right : left
    const op = leftIsPath ? operator : mirror(operator)
    checkOperands(op, value, operatorAt)
    return { kind: 'compare', path, operator: op, value }
  }

  private atPath(): boolean {
    const c = this.src[this.pos]
    return c === '$' || c === '@'
  }

  /** Reads a reference path and returns it rooted at `$`. */
  private parsePath(): string {
    const start = this.pos
    this.pos++
    let path = '$'
    for (;;) {
      const c = this.src[this.pos]
      if (c === '.') {
        if (this.src[this.pos + 1] === '.') {
          throw new ExpressionError('".." (deep scan) is not supported in a condition', this.pos)
        }
        this.pos++
        const nameStart = this.pos
        while (this.pos < this.src.length && isNameChar(this.src[this.pos] ?? '')) {
          this.pos++
        }
        const name = this.src.slice(nameStart, this.pos)
        if (name === '*' || this.src[this.pos] === '*') {
          throw new ExpressionError('A wildcard (*) is not supported in a condition path', this.pos)
        }
        if (name.length === 0) {
          throw new ExpressionError('Expected a field name after "."', this.pos)
        }
        path += `.${name}`
      } else if (c === '[') {
        path += this.parseBracket()
      } else {
        break
      }
    }
    if (path === '$' && this.src[start] === '$' && isNameChar(this.src[this.pos] ?? '')) {
      throw new ExpressionError('Expected "." or "[" after "$"', this.pos)
    }
    return path
  }

  private parseBracket(): string {
    const open = this.pos
    this.pos++
    const c = this.src[this.pos]
    if (c === "'" || c === '"') {
      const name = this.parseQuoted(c)
      if (this.src[this.pos] !== ']') {
        throw new ExpressionError('Expected "]"', this.pos)
      }
      this.pos++
      return `['${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`
    }
    const digits = /^\d+/.exec(this.src.slice(this.pos))
    if (digits !== null && this.src[this.pos + digits[0].length] === ']') {
      this.pos += digits[0].length + 1
      return `[${digits[0]}]`
    }
    throw new ExpressionError(
      "Only [index] and ['name'] are supported in a condition path (no filters, slices or *)",
      open,
    )
  }

  private parseLiteral(): Literal {
    const c = this.src[this.pos]
    if (c === "'" || c === '"') {
      return this.parseQuoted(c)
    }
    const rest = this.src.slice(this.pos)
    const number = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(rest)
    if (number !== null) {
      this.pos += number[0].length
      return Number(number[0])
    }
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
      ['nil', null],
    ] as const) {
      if (rest.startsWith(word) && !isNameChar(rest[word.length] ?? '')) {
        this.pos += word.length
        return value
      }
    }
    throw new ExpressionError(
      "Expected a JSONPath ($…), a number, a 'string', true, false or null",
      this.pos,
    )
  }

  private parseQuoted(quote: string): string {
    const start = this.pos
    this.pos++
    let value = ''
    while (this.pos < this.src.length && this.src[this.pos] !== quote) {
      if (this.src[this.pos] === '\\' && this.pos + 1 < this.src.length) {
        this.pos++
      }
      value += this.src[this.pos]
      this.pos++
    }
    if (this.pos >= this.src.length) {
      throw new ExpressionError('Unterminated string', start)
    }
    this.pos++
    return value
  }

  private take(token: string): boolean {
    this.skipSpace()
    if (!this.src.startsWith(token, this.pos)) {
      return false
    }
    this.pos += token.length
    return true
  }

  private skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos] ?? '')) {
      this.pos++
    }
  }
}

function isNameChar(c: string): boolean {
  return c !== '' && !/[\s.[\]()=!<>&|'"$@,*]/.test(c)
}

function mirror(op: ComparisonOperator): ComparisonOperator {
  const mirrored: Record<ComparisonOperator, ComparisonOperator> = {
    '==': '==',
    '!=': '!=',
    '<': '>',
    '>': '<',
    '<=': '>=',
    '>=': '<=',
  }
  return mirrored[op]
}

function checkOperands(op: ComparisonOperator, value: Literal, position: number): void {
  if (op !== '==' && op !== '!=' && typeof value !== 'number') {
    throw new ExpressionError(`${op} compares numbers only`, position)
  }
  if (op === '!=' && typeof value === 'string' && value.includes('*')) {
    throw new ExpressionError("The wildcard '*' is allowed only with ==", position)
  }
}

/** Parses an expression; throws ExpressionError with the position of the first problem. */
export function parseCondition(expression: string): Condition {
  return new Parser(expression).parse()
}

/**
 * The ASL Choice rule (without `Next`) for a condition. `root` replaces `$` in every path: the
 * error handling of a node keeps the error data at `$.error` of its own data.
 */
export function conditionToChoiceRule(condition: Condition, root = '$'): JsonObject {
  switch (condition.kind) {
    case 'and':
      return { And: condition.operands.map((c) => conditionToChoiceRule(c, root)) }
    case 'or':
      return { Or: condition.operands.map((c) => conditionToChoiceRule(c, root)) }
    case 'compare': {
      const variable = root + condition.path.slice(1)
      const present: JsonObject = { Variable: variable, IsPresent: true }
      if (condition.value === '*' && condition.operator === '==') {
        return present
      }
      const test = comparison(variable, condition.operator, condition.value)
      return { And: [present, condition.operator === '!=' ? { Not: test } : test] }
    }
  }
}

function comparison(variable: string, op: ComparisonOperator, value: Literal): JsonObject {
  if (value === null) {
    return { Variable: variable, IsNull: true }
  }
  if (typeof value === 'boolean') {
    return { Variable: variable, BooleanEquals: value }
  }
  if (typeof value === 'string') {
    return value.includes('*')
      ? { Variable: variable, StringMatches: value.replace(/\\/g, '\\\\') }
      : { Variable: variable, StringEquals: value }
  }
  const numeric: Record<ComparisonOperator, string> = {
    '==': 'NumericEquals',
    '!=': 'NumericEquals',
    '<': 'NumericLessThan',
    '>': 'NumericGreaterThan',
    '<=': 'NumericLessThanEquals',
    '>=': 'NumericGreaterThanEquals',
  }
  return { Variable: variable, [numeric[op]]: value }
}
