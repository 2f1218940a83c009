/**
 * @module The `States.*` intrinsic functions themselves, on evaluated arguments (`intrinsics.ts`
 * parses and evaluates the call). Argument checks raise `States.IntrinsicFailure`.
 */
import { createHash } from 'node:crypto'
import { AslError } from './asl-error.js'
import type { JsonObject, JsonValue } from './definition.js'
import type { PathScope } from './json-path.js'

function failure(message: string): AslError {
  return new AslError('States.IntrinsicFailure', message)
}

export type IntrinsicFunction = (
  args: readonly JsonValue[],
  scope: PathScope,
  name: string,
) => JsonValue

function arity(name: string, args: readonly JsonValue[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`
    throw failure(`${name} takes ${expected} arguments, got ${args.length}`)
  }
}

function asArray(name: string, value: JsonValue | undefined): JsonValue[] {
  if (!Array.isArray(value)) {
    throw failure(`${name} expects an array, got ${describe(value)}`)
  }
  return value
}

function asString(name: string, value: JsonValue | undefined): string {
  if (typeof value !== 'string') {
    throw failure(`${name} expects a string, got ${describe(value)}`)
  }
  return value
}

function asNumber(name: string, value: JsonValue | undefined): number {
  if (typeof value !== 'number') {
    throw failure(`${name} expects a number, got ${describe(value)}`)
  }
  return value
}

function asInteger(name: string, value: JsonValue | undefined): number {
  const n = asNumber(name, value)
  if (!Number.isInteger(n)) {
    throw failure(`${name} expects an integer, got ${n}`)
  }
  return n
}

function describe(value: JsonValue | undefined): string {
  return value === undefined ? 'nothing' : JSON.stringify(value)
}

/** Structural JSON equality (object key order does not matter). */
export function jsonEquals(a: JsonValue, b: JsonValue): boolean {
  if (a === b) {
    return true
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return false
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) {
      return false
    }
    return a.every((item, i) => jsonEquals(item, b[i] as JsonValue))
  }
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) {
    return false
  }
  return keys.every((k) => k in b && jsonEquals(a[k] as JsonValue, b[k] as JsonValue))
}

/** Java's `toString` of the parsed JSON, which is what `States.Format` inserts. */
function javaString(value: JsonValue): string {
  if (value === null) {
    return 'null'
  }
  if (Array.isArray(value)) {
    return `[${value.map(javaString).join(', ')}]`
  }
  if (typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}=${javaString(v)}`)
      .join(', ')}}`
  }
  return String(value)
}

/**
 * `raw` is the template literal's source text, where `\{`, `\}` are literal braces; a template
 * that came from a path has no escapes.
 */
export function format(raw: string | undefined, values: readonly JsonValue[]): JsonValue {
  const template = values[0]
  if (typeof template !== 'string') {
    throw failure(`States.Format expects a string template, got ${describe(template)}`)
  }
  const source = raw ?? template
  const args = values.slice(1)
  let out = ''
  let used = 0
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (raw !== undefined && c === '\\' && i + 1 < source.length) {
      out += source[++i]
    } else if (c === '{' && source[i + 1] === '}') {
      if (used >= args.length) {
        throw failure('States.Format has more {} than arguments')
      }
      out += javaString(args[used++] as JsonValue)
      i++
    } else {
      out += c
    }
  }
  if (used !== args.length) {
    throw failure('States.Format has more arguments than {}')
  }
  return out
}

/** A small seeded generator (mulberry32): the same seed gives the same numbers everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A version-4 UUID drawn from `random`. */
export function uuidFrom(random: () => number): string {
  const bytes = Array.from({ length: 16 }, () => Math.floor(random() * 256) & 0xff)
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const HASH_ALGORITHMS: Readonly<Record<string, string>> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
}

export function hashHex(data: string, algorithm: string): string | undefined {
  const nodeName = HASH_ALGORITHMS[algorithm]
  return nodeName === undefined ? undefined : createHash(nodeName).update(data).digest('hex')
}

function uniqueJson(items: readonly JsonValue[]): JsonValue[] {
  const out: JsonValue[] = []
  for (const item of items) {
    if (!out.some((o) => jsonEquals(o, item))) {
      out.push(item)
    }
  }
  return out
}

const MAX_RANGE = 1000

/** Every States.* function but States.Format (which `format` evaluates). */
export const INTRINSIC_FUNCTIONS: Readonly<Record<string, IntrinsicFunction>> = {
  'States.StringToJson': (args, _scope, name) => {
    arity(name, args, 1)
    const text = asString(name, args[0])
    // AWS (Jackson) reads blank text as null.
    if (text.trim() === '') {
      return null
    }
    try {
      return JSON.parse(text) as JsonValue
    } catch {
      throw failure(`${name}: the argument is not valid JSON: ${text}`)
    }
  },
  'States.JsonToString': (args, _scope, name) => {
    arity(name, args, 1)
    return JSON.stringify(args[0])
  },
  'States.Array': (args) => [...args],
  'States.ArrayPartition': (args, _scope, name) => {
    arity(name, args, 2)
    const array = asArray(name, args[0])
    const size = asInteger(name, args[1])
    if (size <= 0) {
      throw failure(`${name}: the chunk size must be positive, got ${size}`)
    }
    const chunks: JsonValue[] = []
    for (let i = 0; i < array.length; i += size) {
      chunks.push(array.slice(i, i + size))
    }
    return chunks
  },
  'States.ArrayContains': (args, _scope, name) => {
    arity(name, args, 2)
    const target = args[1] as JsonValue
    return asArray(name, args[0]).some((item) => jsonEquals(item, target))
  },
  'States.ArrayRange': (args, _scope, name) => {
    arity(name, args, 3)
    const start = asInteger(name, args[0])
    const end = asInteger(name, args[1])
    const step = asInteger(name, args[2])
    if (step === 0) {
      throw failure(`${name}: the step must not be 0`)
    }
    const count = Math.max(0, Math.floor((end - start) / step) + 1)
    if (count > MAX_RANGE) {
      throw failure(`${name}: the range has more than ${MAX_RANGE} items`)
    }
    return Array.from({ length: count }, (_, i) => start + i * step)
  },
  'States.ArrayGetItem': (args, _scope, name) => {
    arity(name, args, 2)
    const array = asArray(name, args[0])
    const index = asInteger(name, args[1])
    if (index < 0 || index >= array.length) {
      throw failure(`${name}: index ${index} is out of bounds for an array of ${array.length}`)
    }
    return array[index] as JsonValue
  },
  'States.ArrayLength': (args, _scope, name) => {
    arity(name, args, 1)
    return asArray(name, args[0]).length
  },
  'States.ArrayUnique': (args, _scope, name) => {
    arity(name, args, 1)
    return uniqueJson(asArray(name, args[0]))
  },
  'States.Base64Encode': (args, _scope, name) => {
    arity(name, args, 1)
    return Buffer.from(asString(name, args[0]), 'utf8').toString('base64')
  },
  'States.Base64Decode': (args, _scope, name) => {
    arity(name, args, 1)
    const text = asString(name, args[0])
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
      throw failure(`${name}: the argument is not valid base64: ${text}`)
    }
    return Buffer.from(text, 'base64').toString('utf8')
  },
  'States.Hash': (args, _scope, name) => {
    arity(name, args, 2)
    const data = args[0]
    const algorithm = asString(name, args[1])
    const text = typeof data === 'string' ? data : JSON.stringify(data)
    const digest = hashHex(text, algorithm)
    if (digest === undefined) {
      throw failure(
        `${name}: unsupported algorithm '${algorithm}' (use ${Object.keys(HASH_ALGORITHMS).join(', ')})`,
      )
    }
    return digest
  },
  'States.JsonMerge': (args, _scope, name) => {
    arity(name, args, 3)
    const [a, b, deep] = args
    if (typeof a !== 'object' || a === null || Array.isArray(a)) {
      throw failure(`${name} expects an object, got ${describe(a)}`)
    }
    if (typeof b !== 'object' || b === null || Array.isArray(b)) {
      throw failure(`${name} expects an object, got ${describe(b)}`)
    }
    if (deep !== false) {
      throw failure(`${name}: only a shallow merge (false) is supported`)
    }
    return { ...a, ...b } satisfies JsonObject
  },
  'States.MathRandom': (args, scope, name) => {
    arity(name, args, 2, 3)
    const start = Math.trunc(asNumber(name, args[0]))
    const end = Math.trunc(asNumber(name, args[1]))
    if (end <= start) {
      throw failure(`${name}: the end (${end}) must be above the start (${start})`)
    }
    const random = args.length === 3 ? seededRandom(asInteger(name, args[2])) : scope.random
    return start + Math.floor(random() * (end - start))
  },
  'States.MathAdd': (args, _scope, name) => {
    arity(name, args, 2)
    // AWS rounds each operand half up (Java's Math.round) before adding.
    const sum = Math.round(asNumber(name, args[0])) + Math.round(asNumber(name, args[1]))
    return sum === 0 ? 0 : sum
  },
  'States.StringSplit': (args, _scope, name) => {
    arity(name, args, 2)
    const text = asString(name, args[0])
    const delimiters = new Set(asString(name, args[1]))
    const parts: string[] = []
    let current = ''
    for (const c of text) {
      if (delimiters.has(c)) {
        if (current !== '') {
          parts.push(current)
        }
        current = ''
      } else {
        current += c
      }
    }
    if (current !== '') {
      parts.push(current)
    }
    return parts
  },
  'States.UUID': (args, scope, name) => {
    arity(name, args, 0)
    return uuidFrom(scope.random)
  },
}
