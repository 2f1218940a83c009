/**
 * @module `function_ref.arguments` → an ASL `Parameters` template (JSONPath mode).
 *
 * Huawei's arguments are an object template over the node input. A string value is
 * * a JSONPath into the input (`$.a.b[0].c`) → `"key.$": "$.a.b[0].c"`;
 * * `path | fallback`, where the fallback is a number, a `'string'`, true/false/null, another path
 *   or a constant → `"key.$": "Strato.FirstPresent($.a, <fallback>)"`;
 * * a constant `$CONST.x.y` → its value;
 * * a `'quoted string'` or any other text → that string, literally.
 *
 * Constants are known when the flow is compiled, so a constant becomes the literal value it names
 * (and one that `constants` lacks is an error now rather than at run time). Huawei's own examples
 * write a constant as `$.constants.x.y`: as a fallback that is the constant; as a value it reads
 * the input first and falls back to the constant.
 *
 * Non-strings are literals; objects and arrays are walked.
 */
import type { JsonObject, JsonValue } from '../asl/definition.js'

/** Thrown with the argument's key path (`bucket`, `a.b[1]`) and what is wrong with it. */
export class ArgumentError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message)
    this.name = 'ArgumentError'
  }
}

/** The `Parameters` template for `args`, with `constants` resolved. */
export function compileArguments(args: JsonObject, constants: JsonObject): JsonObject {
  return new ArgumentCompiler(constants).object(args, '')
}

type Compiled = { dynamic: boolean; value: JsonValue }
/** One side of `path | fallback`: a path read at run time, or a value known now. */
type Term = { kind: 'path'; path: string } | { kind: 'value'; value: JsonValue }

const NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

class ArgumentCompiler {
  constructor(private readonly constants: JsonObject) {}

  object(template: JsonObject, at: string): JsonObject {
    const out: JsonObject = {}
    for (const [key, value] of Object.entries(template)) {
      const keyPath = at === '' ? key : `${at}.${key}`
      if (key.endsWith('.$')) {
        throw new ArgumentError(keyPath, 'a key must not end with ".$"')
      }
      const compiled = this.value(value, keyPath)
      if (compiled.dynamic) {
        out[`${key}.$`] = compiled.value
      } else {
        out[key] = compiled.value
      }
    }
    return out
  }

  private value(value: JsonValue, at: string): Compiled {
    if (Array.isArray(value)) {
      return {
        dynamic: false,
        value: value.map((item, i) => {
          const compiled = this.value(item, `${at}[${i}]`)
          if (compiled.dynamic) {
            throw new ArgumentError(
              `${at}[${i}]`,
              'a path inside an array is not supported (use an object key for it)',
            )
          }
          return compiled.value
        }),
      }
    }
    if (value !== null && typeof value === 'object') {
      return { dynamic: false, value: this.object(value, at) }
    }
    if (typeof value !== 'string') {
      return { dynamic: false, value }
    }
    return this.string(value, at)
  }

  private string(text: string, at: string): Compiled {
    const trimmed = text.trim()
    const bar = topLevelBar(trimmed)
    if (bar >= 0) {
      const primary = trimmed.slice(0, bar).trim()
      const fallback = this.fallback(trimmed.slice(bar + 1).trim(), at)
      if (isConstantPath(primary)) {
        const constant = this.constant(primary)
        if (constant !== undefined) {
          return { dynamic: false, value: constant }
        }
        return fallback.kind === 'value'
          ? { dynamic: false, value: fallback.value }
          : { dynamic: true, value: fallback.path }
      }
      return {
        dynamic: true,
        value: `Strato.FirstPresent(${checkPath(primary, at)}, ${termText(fallback)})`,
      }
    }
    if (isQuoted(trimmed)) {
      return { dynamic: false, value: unquote(trimmed) }
    }
    if (isConstantPath(trimmed)) {
      return { dynamic: false, value: this.requiredConstant(trimmed, at) }
    }
    if (trimmed.startsWith('$')) {
      const path = checkPath(trimmed, at)
      const constant = this.huaweiConstant(path)
      return {
        dynamic: true,
        value:
          constant === undefined
            ? path
            : `Strato.FirstPresent(${path}, ${intrinsicLiteral(constant)})`,
      }
    }
    return { dynamic: false, value: text }
  }

  private fallback(text: string, at: string): Term {
    if (isConstantPath(text)) {
      return { kind: 'value', value: this.requiredConstant(text, at) }
    }
    if (text.startsWith('$')) {
      const path = checkPath(text, at)
      const constant = this.huaweiConstant(path)
      return constant === undefined ? { kind: 'path', path } : { kind: 'value', value: constant }
    }
    if (isQuoted(text)) {
      return { kind: 'value', value: unquote(text) }
    }
    if (NUMBER.test(text)) {
      return { kind: 'value', value: Number(text) }
    }
    if (text === 'true' || text === 'false' || text === 'null') {
      return { kind: 'value', value: JSON.parse(text) as boolean | null }
    }
    throw new ArgumentError(
      at,
      `the fallback "${text}" must be a number, a 'string', true, false, null, a path or a constant`,
    )
  }

  /** The value at `$CONST…`, or undefined when `constants` has none there. */
  private constant(path: string): JsonValue | undefined {
    return lookup(this.constants, path.slice(CONST_ROOT.length))
  }

  private requiredConstant(path: string, at: string): JsonValue {
    const value = this.constant(path)
    if (value === undefined) {
      throw new ArgumentError(at, `"${path}" names nothing in constants`)
    }
    return value
  }

  /** `$.constants.x…`, Huawei's spelling of a constant: its value if constants has one. */
  private huaweiConstant(path: string): JsonValue | undefined {
    const rest = /^\$\.constants(?=[.[]|$)/.exec(path)
    return rest === null ? undefined : lookup(this.constants, path.slice(rest[0].length))
  }
}

const CONST_ROOT = '$CONST'

function isConstantPath(text: string): boolean {
  return text.startsWith(CONST_ROOT) && /^(?:[.[]|$)/.test(text.slice(CONST_ROOT.length))
}

function checkPath(path: string, at: string): string {
  if (path !== '$' && !path.startsWith('$.') && !path.startsWith('$[')) {
    throw new ArgumentError(at, `"${path}" is not a JSONPath ($, $.a.b, $[0] or $CONST.x)`)
  }
  if (/\s/.test(path.replace(/'[^']*'|"[^"]*"/g, ''))) {
    throw new ArgumentError(at, `"${path}" is not a JSONPath (it contains a space)`)
  }
  return path
}

/**
 * Follows `.name`, `['name']`, `["name"]` and `[index]` steps from `root`; undefined when a step
 * finds nothing or the steps are not of that form.
 */
function lookup(root: JsonValue, steps: string): JsonValue | undefined {
  let value: JsonValue | undefined = root
  let rest = steps
  while (rest !== '' && value !== undefined) {
    const step = /^(?:\.([^.[\]]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\])/.exec(
      rest,
    )
    if (step === null) {
      return undefined
    }
    rest = rest.slice(step[0].length)
    const index = step[2]
    const name = step[1] ?? step[3]?.replace(/\\(.)/g, '$1') ?? step[4]?.replace(/\\(.)/g, '$1')
    if (index !== undefined) {
      value = Array.isArray(value) ? value[Number(index)] : undefined
    } else if (
      name !== undefined &&
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value)
    ) {
      value = Object.hasOwn(value, name) ? value[name] : undefined
    } else {
      value = undefined
    }
  }
  return value
}

function termText(term: Term): string {
  return term.kind === 'path' ? term.path : intrinsicLiteral(term.value)
}

/** A value as an intrinsic-function argument (objects and arrays through States.StringToJson). */
function intrinsicLiteral(value: JsonValue): string {
  if (typeof value === 'string') {
    return intrinsicString(value)
  }
  if (value !== null && typeof value === 'object') {
    return `States.StringToJson(${intrinsicString(JSON.stringify(value))})`
  }
  return JSON.stringify(value)
}

/** The index of a `|` outside quotes and brackets (a filter may hold `||`), or -1. */
function topLevelBar(text: string): number {
  let depth = 0
  let quote: string | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quote !== undefined) {
      if (c === '\\') {
        i++
      } else if (c === quote) {
        quote = undefined
      }
    } else if (c === "'" || c === '"') {
      quote = c
    } else if (c === '[' || c === '(') {
      depth++
    } else if (c === ']' || c === ')') {
      depth--
    } else if (c === '|' && depth === 0) {
      return i
    }
  }
  return -1
}

function isQuoted(text: string): boolean {
  return text.length >= 2 && text.startsWith("'") && text.endsWith("'")
}

function unquote(text: string): string {
  return text.slice(1, -1).replace(/\\(.)/g, '$1')
}

/** A string literal in intrinsic-function syntax (escapes for ' { } and \). */
function intrinsicString(value: string): string {
  return `'${value.replace(/[\\'{}]/g, (c) => `\\${c}`)}'`
}
