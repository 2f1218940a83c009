/**
 * @module JSONPath as Step Functions evaluates it (Jayway semantics) on top of `jsonpath-plus`.
 *
 * A path starts with `$` (the data), `$$` (the context object) or `$name` (a variable). A
 * *definite* path (only `.key`, `['key']` and `[n]` steps) selects one value, and a missing one
 * is an error; an *indefinite* path (`..`, `*`, filters, slices, unions) selects a list, which is
 * returned as an array and may be empty. Definite paths are walked here directly, so the errors
 * carry Jayway's wording (`Missing property in path $['a']`) that AWS reports; indefinite ones go
 * to `jsonpath-plus`.
 */
import { JSONPath } from 'jsonpath-plus'
import { AslError } from './asl-error.js'
import type { JsonObject, JsonValue } from './definition.js'

export interface PathScope {
  /** The `$$` context object. */
  readonly context: JsonValue
  /** `$name` variables; undefined = not set. */
  readonly variable: (name: string) => JsonValue | undefined
  /** A deterministic stream of numbers in [0, 1) for this state visit. */
  readonly random: () => number
  /** Epoch ms of the state's entry, for JSONata's `$now()`/`$millis()` (absent = the clock). */
  readonly now?: number
}

type Step = string | number

/** Where a path points: the root it starts from and, when definite, its steps. */
interface ParsedPath {
  readonly root: 'data' | 'context' | 'variable'
  readonly variableName?: string
  /** The path relative to its root, starting with `$` (for jsonpath-plus). */
  readonly relative: string
  /** The steps of a definite path; undefined when the path is indefinite. */
  readonly steps?: readonly Step[]
}

const VARIABLE_PREFIX = /^\$([A-Za-z_][A-Za-z0-9_]*)/

const parsedPaths = new Map<string, ParsedPath>()
const MAX_PARSED_PATHS = 2000

/** Paths repeat (each state visit reads the same ones), so their parse is kept. */
function parsePath(path: string): ParsedPath {
  const cached = parsedPaths.get(path)
  if (cached !== undefined) {
    return cached
  }
  const parsed = parseUncached(path)
  if (parsedPaths.size >= MAX_PARSED_PATHS) {
    const oldest = parsedPaths.keys().next()
    if (oldest.done !== true) {
      parsedPaths.delete(oldest.value)
    }
  }
  parsedPaths.set(path, parsed)
  return parsed
}

function parseUncached(path: string): ParsedPath {
  if (path.startsWith('$$')) {
    return withSteps('context', undefined, '$' + path.slice(2))
  }
  const variable = VARIABLE_PREFIX.exec(path)
  if (variable?.[1] !== undefined) {
    return withSteps('variable', variable[1], '$' + path.slice(variable[0].length))
  }
  if (!path.startsWith('$')) {
    throw new AslError('States.Runtime', `Invalid path '${path}': a path starts with '$'`)
  }
  return withSteps('data', undefined, path)
}

function withSteps(
  root: ParsedPath['root'],
  variableName: string | undefined,
  relative: string,
): ParsedPath {
  const steps = definiteSteps(relative)
  return {
    root,
    relative,
    ...(variableName === undefined ? {} : { variableName }),
    ...(steps === undefined ? {} : { steps }),
  }
}

/** The steps of `$…` when it is definite, else undefined. */
function definiteSteps(relative: string): Step[] | undefined {
  const steps: Step[] = []
  let i = 1
  while (i < relative.length) {
    const c = relative[i]
    if (c === '.') {
      if (relative[i + 1] === '.') {
        return undefined
      }
      let end = i + 1
      while (end < relative.length && relative[end] !== '.' && relative[end] !== '[') {
        end++
      }
      const key = relative.slice(i + 1, end)
      if (key === '' || key === '*' || key.endsWith(')')) {
        return undefined
      }
      steps.push(key)
      i = end
    } else if (c === '[') {
      const quote = relative[i + 1]
      if (quote === "'" || quote === '"') {
        let end = i + 2
        let key = ''
        while (end < relative.length && relative[end] !== quote) {
          // Only the quote itself is escaped (`\'`); other backslashes are literal (AWS-recorded).
          if (relative[end] === '\\' && relative[end + 1] === quote) {
            end++
          }
          key += relative[end]
          end++
        }
        if (relative[end + 1] !== ']') {
          return undefined
        }
        steps.push(key)
        i = end + 2
      } else {
        const close = relative.indexOf(']', i)
        if (close < 0) {
          return undefined
        }
        const inner = relative.slice(i + 1, close).trim()
        if (!/^-?\d+$/.test(inner)) {
          return undefined
        }
        steps.push(Number(inner))
        i = close + 1
      }
    } else {
      return undefined
    }
  }
  return steps
}

/** Jayway's normalised form of the first `count` steps: `$['a'][0]`. */
function normalised(steps: readonly Step[], count: number): string {
  return (
    '$' +
    steps
      .slice(0, count)
      .map((s) => (typeof s === 'number' ? `[${s}]` : `['${s}']`))
      .join('')
  )
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export type PathLookup =
  | { readonly found: true; readonly value: JsonValue }
  | { readonly found: false; readonly reason: string }

function walk(root: JsonValue, steps: readonly Step[]): PathLookup {
  let current: JsonValue = root
  for (let n = 0; n < steps.length; n++) {
    const step = steps[n] as Step
    const last = n === steps.length - 1
    let next: JsonValue | undefined
    if (typeof step === 'number') {
      if (Array.isArray(current)) {
        next = current[step < 0 ? current.length + step : step]
      } else if (isObject(current)) {
        next = current[String(step)]
      }
    } else if (isObject(current)) {
      next = Object.prototype.hasOwnProperty.call(current, step) ? current[step] : undefined
    } else if (Array.isArray(current) && /^\d+$/.test(step)) {
      next = current[Number(step)]
    }
    if (next === undefined) {
      const reason = last
        ? `No results for path: ${normalised(steps, n + 1)}`
        : `Missing property in path ${normalised(steps, n + 1)}`
      return { found: false, reason }
    }
    current = next
  }
  return { found: true, value: current }
}

/**
 * Looks a path up without throwing for a missing value (callers that word their own error, like
 * a `.$` field or a Choice `Variable`, use this).
 */
export function lookupPath(data: JsonValue, path: string, scope: PathScope): PathLookup {
  const parsed = parsePath(path)
  let root: JsonValue
  if (parsed.root === 'context') {
    root = scope.context
  } else if (parsed.root === 'variable') {
    const value = scope.variable(parsed.variableName ?? '')
    if (value === undefined) {
      return { found: false, reason: `The variable '$${parsed.variableName ?? ''}' is not set` }
    }
    root = value
  } else {
    root = data
  }
  if (parsed.steps !== undefined) {
    return walk(root, parsed.steps)
  }
  if (typeof root !== 'object' || root === null) {
    return { found: true, value: [] }
  }
  const values: unknown = JSONPath({ path: parsed.relative, json: root, wrap: true })
  return { found: true, value: Array.isArray(values) ? (values as JsonValue[]) : [] }
}

/**
 * The value at `path`: `$…` in `data`, `$$…` in the context object, `$name…` in a variable. A
 * definite path to nothing throws `States.Runtime` worded like AWS
 * (`Invalid path '$.a' : No results for path: $['a']`).
 */
export function readPath(data: JsonValue, path: string, scope: PathScope): JsonValue {
  const lookup = lookupPath(data, path, scope)
  if (lookup.found) {
    return lookup.value
  }
  throw new AslError('States.Runtime', `Invalid path '${path}' : ${lookup.reason}`)
}

/** Whether a path selects exactly one node (a reference path: ResultPath, Choice `Variable`). */
export function isDefinitePath(path: string): boolean {
  try {
    return parsePath(path).steps !== undefined
  } catch {
    return false
  }
}

/** A copy of one container level; what it holds is shared. */
function shallowCopy(value: JsonObject | JsonValue[]): JsonObject | JsonValue[] {
  return Array.isArray(value) ? [...value] : { ...value }
}

/**
 * Combines a state's result into its raw input as `ResultPath` says: absent or `$` → the result;
 * `null` → the raw input unchanged; `$.a.b` → a copy of the raw input with the result at `a.b`
 * (missing objects on the way are created). A path through a non-object gives
 * `States.ResultPathMatchFailure`. The raw input is never changed: the containers on the path are
 * copied and everything else is shared with it (JSON values are not mutated in the engine).
 */
export function writeResultPath(
  raw: JsonValue,
  resultPath: string | null | undefined,
  result: JsonValue,
): JsonValue {
  if (resultPath === undefined || resultPath === '$') {
    return result
  }
  if (resultPath === null) {
    return raw
  }
  const steps =
    resultPath.startsWith('$') && !resultPath.startsWith('$$')
      ? parsePath(resultPath).steps
      : undefined
  if (steps === undefined) {
    throw new AslError(
      'States.ResultPathMatchFailure',
      `Invalid ResultPath '${resultPath}': a ResultPath must be a reference path starting with '$'`,
    )
  }
  if (steps.length === 0) {
    return result
  }
  const failure = (): AslError =>
    new AslError(
      'States.ResultPathMatchFailure',
      `Unable to apply ResultPath "${resultPath}" to input ${JSON.stringify(raw)}`,
    )
  if (typeof raw !== 'object' || raw === null) {
    throw failure()
  }
  const output = shallowCopy(raw)
  let current: JsonObject | JsonValue[] = output
  for (let n = 0; n < steps.length; n++) {
    const step = steps[n] as Step
    const last = n === steps.length - 1
    if (Array.isArray(current)) {
      if (typeof step !== 'number') {
        throw failure()
      }
      const index: number = step < 0 ? current.length + step : step
      if (index < 0 || index >= current.length) {
        throw failure()
      }
      if (last) {
        current[index] = result
      } else {
        const next: JsonValue | undefined = current[index]
        if (typeof next !== 'object' || next === null) {
          throw failure()
        }
        const copy = shallowCopy(next)
        current[index] = copy
        current = copy
      }
    } else if (isObject(current)) {
      const key = String(step)
      if (last) {
        current[key] = result
      } else {
        const next: JsonValue | undefined = current[key]
        if (next !== undefined && next !== null && typeof next !== 'object') {
          throw failure()
        }
        const copy = next === undefined || next === null ? {} : shallowCopy(next)
        current[key] = copy
        current = copy
      }
    }
  }
  return output
}
