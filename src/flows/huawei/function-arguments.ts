/**
 * @module `function_ref.arguments` → an ASL `Parameters` template (JSONPath mode).
 *
 * Huawei's arguments are an object template over the node input. A string value is
 * * a JSONPath into the input (`$.a.b[0].c`) → `"key.$": "$.a.b[0].c"`;
 * * `path | fallback`, where the fallback is a number, a `'string'`, true/false/null, another path, a constant
 *   `$CONST.x.y` or, as Huawei's own examples write it, `$.constants.x.y` (the same constant) →
 *   `"key.$": "Strato.FirstPresent($.a, $CONST.x.y)"`;
 * * `$CONST.x.y` alone → the constant;
 * * a `'quoted string'` or any other text → that string, literally.
 *
 * Non-strings are literals; objects and arrays are walked. Constants live in the variable `CONST`,
 * which the compiled flow assigns in its first state.
 */
import type { JsonObject, JsonValue } from '../asl/definition.js'

/** The variable that holds the flow's `constants`. */
export const CONSTANTS_VARIABLE = 'CONST'

export interface CompiledArguments {
  readonly parameters: JsonObject
  /** Whether a value reads `$CONST` (the flow then needs the constants state). */
  readonly usesConstants: boolean
}

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

export function compileArguments(args: JsonObject): CompiledArguments {
  const compiler = new ArgumentCompiler()
  const parameters = compiler.object(args, '')
  return { parameters, usesConstants: compiler.usesConstants }
}

class ArgumentCompiler {
  usesConstants = false

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

  private value(value: JsonValue, at: string): { dynamic: boolean; value: JsonValue } {
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

  private string(text: string, at: string): { dynamic: boolean; value: JsonValue } {
    const trimmed = text.trim()
    const bar = topLevelBar(trimmed)
    if (bar >= 0) {
      const path = this.path(trimmed.slice(0, bar).trim(), at)
      const fallback = this.fallback(trimmed.slice(bar + 1).trim(), at)
      return { dynamic: true, value: `Strato.FirstPresent(${path}, ${fallback})` }
    }
    if (isQuoted(trimmed)) {
      return { dynamic: false, value: unquote(trimmed) }
    }
    if (trimmed.startsWith('$')) {
      return { dynamic: true, value: this.path(trimmed, at) }
    }
    return { dynamic: false, value: text }
  }

  private path(path: string, at: string): string {
    if (path.startsWith(`$${CONSTANTS_VARIABLE}`) && /^[.[]|^$/.test(path.slice(6))) {
      this.usesConstants = true
      return path
    }
    if (path !== '$' && !path.startsWith('$.') && !path.startsWith('$[')) {
      throw new ArgumentError(at, `"${path}" is not a JSONPath ($, $.a.b, $[0] or $CONST.x)`)
    }
    if (/\s/.test(path.replace(/'[^']*'|"[^"]*"/g, ''))) {
      throw new ArgumentError(at, `"${path}" is not a JSONPath (it contains a space)`)
    }
    return path
  }

  private fallback(text: string, at: string): string {
    if (text.startsWith('$.constants.') || text.startsWith('$.constants[')) {
      return this.path(`$${CONSTANTS_VARIABLE}${text.slice('$.constants'.length)}`, at)
    }
    if (text.startsWith('$')) {
      return this.path(text, at)
    }
    if (isQuoted(text)) {
      return intrinsicString(unquote(text))
    }
    if (/^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) {
      return String(Number(text))
    }
    if (text === 'true' || text === 'false' || text === 'null') {
      return text
    }
    throw new ArgumentError(
      at,
      `the fallback "${text}" must be a number, a 'string', true, false, null or a constant`,
    )
  }
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
