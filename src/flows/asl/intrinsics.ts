/**
 * @module The `States.*` intrinsic functions of JSONPath mode (in `.$` fields), plus
 * `Strato.FirstPresent` for the Huawei compiler.
 *
 * An expression is parsed into a call tree first (string literals with the escapes `\'`, `\{`,
 * `\}`, `\\`; numbers; `true`/`false`/`null`; paths `$…`, `$$…`, `$var…`; nested calls up to ten
 * deep), then evaluated. A bad call (wrong argument types or counts, a range too large, …) is
 * `States.IntrinsicFailure`; a path that selects nothing is `States.Runtime` like any other path.
 * `States.UUID` and `States.MathRandom` without a seed draw from `scope.random`, so replays agree.
 * `States.Format` renders objects and arrays the way AWS's Java runtime does (`{a=1, b=[]}`).
 */
import { AslError } from './asl-error.js'
import type { JsonValue } from './definition.js'
import { format, INTRINSIC_FUNCTIONS } from './intrinsic-functions.js'
import { lookupPath, readPath, type PathScope } from './json-path.js'

type Argument =
  | { readonly kind: 'literal'; readonly value: JsonValue; readonly raw?: string }
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'call'; readonly call: Call }

interface Call {
  readonly name: string
  readonly args: readonly Argument[]
}

const MAX_NESTING = 10

function failure(message: string): AslError {
  return new AslError('States.IntrinsicFailure', message)
}

class Parser {
  private pos = 0
  constructor(private readonly src: string) {}

  parseExpression(): Call {
    const call = this.parseCall(1)
    this.skipSpace()
    if (this.pos !== this.src.length) {
      throw failure(`Unexpected text after the function call in '${this.src}'`)
    }
    return call
  }

  private skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos] ?? '')) {
      this.pos++
    }
  }

  private parseCall(depth: number): Call {
    if (depth > MAX_NESTING) {
      throw failure(`Intrinsic functions nest at most ${MAX_NESTING} deep: '${this.src}'`)
    }
    this.skipSpace()
    const match = /^[A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9]*/.exec(this.src.slice(this.pos))
    if (match === null) {
      throw failure(`Expected an intrinsic function call in '${this.src}'`)
    }
    const name = match[0]
    this.pos += name.length
    this.skipSpace()
    if (this.src[this.pos] !== '(') {
      throw failure(`Expected '(' after ${name} in '${this.src}'`)
    }
    this.pos++
    const args: Argument[] = []
    this.skipSpace()
    if (this.src[this.pos] === ')') {
      this.pos++
      return { name, args }
    }
    for (;;) {
      args.push(this.parseArgument(depth))
      this.skipSpace()
      const c = this.src[this.pos]
      this.pos++
      if (c === ')') {
        return { name, args }
      }
      if (c !== ',') {
        throw failure(`Expected ',' or ')' in the arguments of ${name}: '${this.src}'`)
      }
    }
  }

  private parseArgument(depth: number): Argument {
    this.skipSpace()
    const rest = this.src.slice(this.pos)
    const c = rest[0]
    if (c === "'") {
      return this.parseString()
    }
    if (c === '$') {
      return { kind: 'path', path: this.parsePathText() }
    }
    const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(rest)
    if (number !== null) {
      this.pos += number[0].length
      return { kind: 'literal', value: Number(number[0]) }
    }
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (rest.startsWith(word) && !/[A-Za-z0-9.]/.test(rest[word.length] ?? '')) {
        this.pos += word.length
        return { kind: 'literal', value }
      }
    }
    return { kind: 'call', call: this.parseCall(depth + 1) }
  }

  private parseString(): Argument {
    this.pos++
    const start = this.pos
    let value = ''
    while (this.pos < this.src.length && this.src[this.pos] !== "'") {
      if (this.src[this.pos] === '\\' && this.pos + 1 < this.src.length) {
        this.pos++
      }
      value += this.src[this.pos]
      this.pos++
    }
    if (this.pos >= this.src.length) {
      throw failure(`Unterminated string in '${this.src}'`)
    }
    const raw = this.src.slice(start, this.pos)
    this.pos++
    return { kind: 'literal', value, raw }
  }

  /** A path runs to the next `,` or `)` outside brackets and quotes. */
  private parsePathText(): string {
    const start = this.pos
    let depth = 0
    let quote: string | undefined
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]
      if (quote !== undefined) {
        if (c === '\\') {
          this.pos++
        } else if (c === quote) {
          quote = undefined
        }
      } else if (c === "'" || c === '"') {
        quote = c
      } else if (c === '[' || c === '(') {
        depth++
      } else if (c === ']' || (c === ')' && depth > 0)) {
        depth--
      } else if ((c === ',' || c === ')') && depth === 0) {
        break
      }
      this.pos++
    }
    return this.src.slice(start, this.pos).trim()
  }
}

/** Whether a `.$` value is an intrinsic call rather than a path. */
export function isIntrinsicExpression(expression: string): boolean {
  return /^\s*(States|Strato)\.[A-Za-z0-9]+\s*\(/.test(expression)
}

/** Evaluates one intrinsic expression, e.g. `States.Format('id {}', $.id)`. */
export function evaluateIntrinsic(
  expression: string,
  input: JsonValue,
  scope: PathScope,
): JsonValue {
  return evaluateCall(parsed(expression), input, scope)
}

const parsedCalls = new Map<string, Call>()
const MAX_PARSED_CALLS = 1000

/** A state evaluates the same expressions on every visit, so their parse is kept. */
function parsed(expression: string): Call {
  let call = parsedCalls.get(expression)
  if (call === undefined) {
    call = new Parser(expression).parseExpression()
    if (parsedCalls.size >= MAX_PARSED_CALLS) {
      parsedCalls.clear()
    }
    parsedCalls.set(expression, call)
  }
  return call
}

function evaluateArgument(arg: Argument, input: JsonValue, scope: PathScope): JsonValue {
  if (arg.kind === 'literal') {
    return arg.value
  }
  if (arg.kind === 'path') {
    return readPath(input, arg.path, scope)
  }
  return evaluateCall(arg.call, input, scope)
}

function evaluateCall(call: Call, input: JsonValue, scope: PathScope): JsonValue {
  if (call.name === 'Strato.FirstPresent') {
    return firstPresent(call, input, scope)
  }
  const values = (): JsonValue[] => call.args.map((a) => evaluateArgument(a, input, scope))
  if (call.name === 'States.Format') {
    const template = call.args[0]
    return format(template?.kind === 'literal' ? template.raw : undefined, values())
  }
  const fn = INTRINSIC_FUNCTIONS[call.name]
  if (fn === undefined) {
    throw failure(`Unknown intrinsic function ${call.name}`)
  }
  return fn(values(), scope, call.name)
}

function firstPresent(call: Call, input: JsonValue, scope: PathScope): JsonValue {
  for (const arg of call.args) {
    if (arg.kind !== 'path') {
      return evaluateArgument(arg, input, scope)
    }
    const lookup = lookupPath(input, arg.path, scope)
    if (lookup.found) {
      return lookup.value
    }
  }
  throw new AslError(
    'States.Runtime',
    `None of the paths given to Strato.FirstPresent selects a value: ${call.args
      .map((a) => (a.kind === 'path' ? a.path : '…'))
      .join(', ')}`,
  )
}

export { hashHex, jsonEquals, seededRandom, uuidFrom } from './intrinsic-functions.js'
