/**
 * @module JSONata mode: `{% … %}` expressions in Arguments, Output, Assign, Items, Condition, …
 *
 * Expressions run on the `jsonata` package (AWS runs JSONata 2.0.6) with `$states` bound, the
 * state machine's variables bound by name, and the functions Step Functions adds: `$partition`,
 * `$range`, `$hash`, `$random([seed])`, `$uuid`, `$parse`. `$eval` is unavailable as on AWS.
 * `$random` and `$uuid` draw from the caller's deterministic stream, so replays agree.
 * Any failure, and an expression that yields nothing, is `States.QueryEvaluationError` with AWS's
 * wording: "The JSONata expression '…' specified for the field 'Output/a' returned nothing
 * (undefined)."
 */
import jsonata from 'jsonata'
import { AslError } from './asl-error.js'
import type { JsonObject, JsonValue } from './definition.js'
import { hashHex, seededRandom, uuidFrom } from './intrinsics.js'

export function isJsonataExpression(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('{%') && value.endsWith('%}')
}

export interface JsonataBindings {
  /** `$states`: input, context, and result / errorOutput where the field may see them. */
  readonly states: JsonObject
  readonly variable: (name: string) => JsonValue | undefined
  readonly random: () => number
  /**
   * Epoch ms that `$now()` and `$millis()` report (the state's entered time, so a replay sees the
   * same); absent = the real clock, as JSONata has it.
   */
  readonly now?: number
}

function queryError(expression: string, field: string, problem: string): AslError {
  const where = field === '' ? '' : ` specified for the field '${field}'`
  return new AslError(
    'States.QueryEvaluationError',
    `The JSONata expression '${expression}'${where} ${problem}`,
  )
}

/** The `$name` references in a parsed expression (to bind only the variables it uses). */
function referencedVariables(node: unknown, names: Set<string>): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) {
      referencedVariables(item, names)
    }
  } else if (typeof node === 'object' && node !== null) {
    const record = node as Record<string, unknown>
    if (record.type === 'variable' && typeof record.value === 'string') {
      names.add(record.value)
    }
    for (const value of Object.values(record)) {
      if (typeof value === 'object' && value !== null) {
        referencedVariables(value, names)
      }
    }
  }
  return names
}

/** Step Functions' added functions, bound per evaluation (they close over the random stream). */
function stepFunctionsFunctions(random: () => number, now?: number): Record<string, unknown> {
  const clock =
    now === undefined
      ? {}
      : {
          now: (): string => new Date(now).toISOString(),
          millis: (): number => now,
        }
  return {
    ...clock,
    eval: null,
    partition: (array: unknown, size: unknown): unknown[] => {
      if (!Array.isArray(array)) {
        throw new Error('$partition expects an array')
      }
      if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0) {
        throw new Error('$partition expects a positive integer chunk size')
      }
      const chunks: unknown[] = []
      for (let i = 0; i < array.length; i += size) {
        chunks.push(array.slice(i, i + size))
      }
      return chunks
    },
    range: (start: unknown, end: unknown, step: unknown): number | number[] => {
      if (typeof start !== 'number' || typeof end !== 'number' || typeof step !== 'number') {
        throw new Error('$range expects three numbers')
      }
      if (step === 0) {
        throw new Error('$range: the step must not be 0')
      }
      const count = Math.max(0, Math.floor((end - start) / step) + 1)
      if (count > 1000) {
        throw new Error('$range: the range has more than 1000 items')
      }
      const values = Array.from({ length: count }, (_, i) => start + i * step)
      // AWS returns a JSONata sequence, and a sequence of one is that value (recorded: 1, not [1]).
      return values.length === 1 && values[0] !== undefined ? values[0] : values
    },
    hash: (data: unknown, algorithm: unknown): string => {
      const text = typeof data === 'string' ? data : JSON.stringify(data)
      const digest = hashHex(text, typeof algorithm === 'string' ? algorithm : '')
      if (digest === undefined) {
        throw new Error(`$hash: unsupported algorithm '${String(algorithm)}'`)
      }
      return digest
    },
    random: (seed?: unknown): number => {
      if (seed === undefined) {
        return random()
      }
      if (typeof seed !== 'number') {
        throw new Error('$random expects a numeric seed')
      }
      return seededRandom(Math.trunc(seed))()
    },
    uuid: (): string => uuidFrom(random),
    parse: (text: unknown): unknown => {
      if (typeof text !== 'string') {
        throw new Error('$parse expects a string')
      }
      return JSON.parse(text) as unknown
    },
  }
}

function containsFunction(value: unknown): boolean {
  if (typeof value === 'function') {
    return true
  }
  if (Array.isArray(value)) {
    return value.some(containsFunction)
  }
  if (typeof value === 'object' && value !== null) {
    return Object.values(value).some(containsFunction)
  }
  return false
}

function errorText(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const record = error as { code?: unknown; message?: unknown }
    const message = typeof record.message === 'string' ? record.message : JSON.stringify(error)
    return typeof record.code === 'string' ? `${record.code}: ${message}` : message
  }
  return String(error)
}

interface CompiledExpression {
  readonly compiled: jsonata.Expression
  /** The `$name` references, to bind only the variables the expression uses. */
  readonly variables: ReadonlySet<string>
}

/**
 * Parsing dominates a small expression's cost, and a machine evaluates the same few expressions
 * over and over; evaluation state lives in the per-call bindings, so sharing is safe.
 */
const compiledExpressions = new Map<string, CompiledExpression>()
const MAX_COMPILED_EXPRESSIONS = 1000

function compile(expression: string): CompiledExpression {
  const cached = compiledExpressions.get(expression)
  if (cached !== undefined) {
    return cached
  }
  const compiled = jsonata(expression)
  const entry = { compiled, variables: referencedVariables(compiled.ast(), new Set()) }
  if (compiledExpressions.size >= MAX_COMPILED_EXPRESSIONS) {
    const oldest = compiledExpressions.keys().next()
    if (oldest.done !== true) {
      compiledExpressions.delete(oldest.value)
    }
  }
  compiledExpressions.set(expression, entry)
  return entry
}

/**
 * Evaluates one expression (the text inside `{% %}`); `field` names where it was written, for
 * the error message (`Output/result`).
 */
export async function evaluateJsonataExpression(
  expression: string,
  bindings: JsonataBindings,
  field = '',
): Promise<JsonValue> {
  let result: unknown
  try {
    const { compiled, variables } = compile(expression)
    const values: Record<string, unknown> = stepFunctionsFunctions(bindings.random, bindings.now)
    for (const name of variables) {
      if (name === 'states') {
        continue
      }
      const value = bindings.variable(name)
      if (value !== undefined) {
        values[name] = value
      }
    }
    values.states = bindings.states
    result = await compiled.evaluate(undefined, values)
  } catch (error) {
    if (error instanceof AslError) {
      throw error
    }
    throw queryError(expression, field, `threw an error during evaluation. ${errorText(error)}`)
  }
  if (result === undefined) {
    throw queryError(expression, field, 'returned nothing (undefined).')
  }
  if (containsFunction(result)) {
    throw queryError(expression, field, 'returned an unsupported result type.')
  }
  // A JSON round trip drops JSONata's sequence markers and turns non-finite numbers into null.
  return JSON.parse(JSON.stringify(result)) as JsonValue
}

/** The text inside `{% … %}`, trimmed. */
export function jsonataExpressionText(value: string): string {
  return value.slice(2, -2).trim()
}

/**
 * Walks a template (Arguments, Output, Assign values, …): every `"{% … %}"` string is replaced
 * by its value, objects and arrays are walked, other values are kept. `field` is the template's
 * field name (`Output`); nested keys extend it (`Output/a/b`).
 */
export async function evaluateJsonataTemplate(
  template: JsonValue,
  bindings: JsonataBindings,
  field = '',
): Promise<JsonValue> {
  if (isJsonataExpression(template)) {
    return evaluateJsonataExpression(jsonataExpressionText(template), bindings, field)
  }
  const child = (key: string | number): string => (field === '' ? String(key) : `${field}/${key}`)
  if (Array.isArray(template)) {
    const out: JsonValue[] = []
    for (const [i, item] of template.entries()) {
      out.push(await evaluateJsonataTemplate(item, bindings, child(i)))
    }
    return out
  }
  if (typeof template === 'object' && template !== null) {
    const out: JsonObject = {}
    for (const [key, value] of Object.entries(template)) {
      out[key] = await evaluateJsonataTemplate(value, bindings, child(key))
    }
    return out
  }
  return template
}
