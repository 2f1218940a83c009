/**
 * @module How a state's data flows, in the order AWS applies it; the interpreter and TestState
 * share it so both agree to the byte.
 *
 * JSONPath mode (flows.md §2.2), for a state with raw input `raw`:
 * 1. `effectiveInput`: InputPath (`null` → `{}`), then Parameters (Pass, Task, Parallel; for a
 *    Map, Parameters is the legacy per-item selector and belongs to `mapItemInput`).
 * 2. The caller runs the state on the effective input and gets its result: a Task's output, a
 *    Parallel's/Map's array, `passResult` for a Pass; for Choice, Wait and Succeed the result is
 *    the effective input itself.
 * 3. `evaluateAssign` (JSONPath: `$` is the raw result; JSONata: `$states.result`), evaluated
 *    against the variables from before the state; the caller applies the assignments only after
 *    step 4, since the same state's Output must not see them.
 * 4. `stateOutput`: ResultSelector (Task, Map, Parallel), ResultPath into `raw` (Task, Map,
 *    Parallel, Pass), OutputPath (`null` → `{}`), then the 256 KiB limit.
 *
 * JSONata mode (§2.6): `effectiveInput` evaluates Arguments (Task, Parallel) or returns `raw`;
 * `stateOutput` evaluates Output (default: the result for Task, Map and Parallel, the raw input
 * otherwise). `$states` is built here from the `states` argument (at least `{context}`; `input`
 * defaults to `raw`) plus `result` / `errorOutput` where AWS exposes them.
 *
 * A JSONata Choice rule may carry its own Output: pass the state as
 * `{ ...state, Output: rule.Output }`. A Catch uses `catcherOutput`; a Map gets its items from
 * `mapItems` and each iteration's input from `mapItemInput`. Each function can fill a
 * `StateIoTrace` (TestState's inspection data).
 */
import { AslError } from './asl-error.js'
import type { Catcher, JsonObject, JsonValue, QueryLanguage, StateBase } from './definition.js'
import {
  evaluateJsonataTemplate,
  isJsonataExpression,
  jsonataExpressionText,
  type JsonataBindings,
} from './jsonata-expressions.js'
import { readPath, writeResultPath, type PathScope } from './json-path.js'
import { evaluatePayloadTemplate } from './payload-template.js'

/** What TestState reports as inspection data; each step fills its field when a trace is given. */
export interface StateIoTrace {
  input?: JsonValue
  afterInputPath?: JsonValue
  afterParameters?: JsonValue
  afterArguments?: JsonValue
  result?: JsonValue
  afterResultSelector?: JsonValue
  afterResultPath?: JsonValue
  afterItemsPath?: JsonValue
  afterItemSelector?: JsonValue
}

/** AWS's limit on a state's input, output, and an Assign's values. */
export const MAX_PAYLOAD_BYTES = 256 * 1024

/** The query language a state uses: its own, else its machine's, else JSONPath. */
export function stateLanguage(state: StateBase, machineLanguage?: QueryLanguage): QueryLanguage {
  return state.QueryLanguage ?? machineLanguage ?? 'JSONPath'
}

/** `$states` for a JSONata field. */
export function jsonataStates(
  input: JsonValue,
  context: JsonValue,
  extra: { readonly result?: JsonValue; readonly errorOutput?: JsonValue } = {},
): JsonObject {
  return { input, context, ...extra }
}

function bindings(scope: PathScope, states: JsonObject): JsonataBindings {
  return {
    states,
    variable: scope.variable,
    random: scope.random,
    ...(scope.now === undefined ? {} : { now: scope.now }),
  }
}

function withStates(
  states: JsonObject,
  raw: JsonValue,
  scope: PathScope,
  extra: JsonObject = {},
): JsonObject {
  return {
    ...states,
    input: states.input ?? raw,
    context: states.context ?? scope.context,
    ...extra,
  }
}

const PRODUCES_RESULT = new Set(['Task', 'Map', 'Parallel'])

function checkSize(value: JsonValue, what: string): void {
  const text = JSON.stringify(value)
  // Characters are at most 4 bytes, so only a long string needs the exact byte count.
  if (text.length * 4 <= MAX_PAYLOAD_BYTES) {
    return
  }
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new AslError(
      'States.DataLimitExceeded',
      `The ${what} of ${bytes} bytes exceeds the maximum of ${MAX_PAYLOAD_BYTES} bytes.`,
    )
  }
}

function applyInputPath(
  raw: JsonValue,
  path: string | null | undefined,
  scope: PathScope,
): JsonValue {
  if (path === null) {
    return {}
  }
  if (path === undefined) {
    return raw
  }
  return readPath(raw, path, scope)
}

/** The input a state works on: after InputPath and Parameters (JSONPath) or Arguments (JSONata). */
export async function effectiveInput(
  state: StateBase,
  rawInput: JsonValue,
  scope: PathScope,
  lang: QueryLanguage,
  states: JsonObject,
  trace?: StateIoTrace,
): Promise<JsonValue> {
  if (trace !== undefined) {
    trace.input = rawInput
  }
  if (lang === 'JSONata') {
    if (state.Arguments === undefined || (state.Type !== 'Task' && state.Type !== 'Parallel')) {
      return rawInput
    }
    const args = await evaluateJsonataTemplate(
      state.Arguments,
      bindings(scope, withStates(states, rawInput, scope)),
      'Arguments',
    )
    if (trace !== undefined) {
      trace.afterArguments = args
    }
    return args
  }
  const afterInputPath = applyInputPath(rawInput, state.InputPath, scope)
  if (trace !== undefined) {
    trace.afterInputPath = afterInputPath
  }
  const hasParameters =
    state.Parameters !== undefined &&
    (state.Type === 'Pass' || state.Type === 'Task' || state.Type === 'Parallel')
  const afterParameters = hasParameters
    ? evaluatePayloadTemplate(state.Parameters, afterInputPath, scope)
    : afterInputPath
  if (trace !== undefined && state.Type !== 'Map') {
    trace.afterParameters = afterParameters
  }
  return afterParameters
}

/** A Pass state's result: its `Result` when it has one, else its effective input. */
export function passResult(state: StateBase, effective: JsonValue): JsonValue {
  return state.Result === undefined ? effective : (state.Result as JsonValue)
}

/**
 * The state's output from its raw input and its result (see the module comment for what the
 * result is per state type).
 */
export async function stateOutput(
  state: StateBase,
  rawInput: JsonValue,
  result: JsonValue,
  scope: PathScope,
  lang: QueryLanguage,
  states: JsonObject,
  trace?: StateIoTrace,
): Promise<JsonValue> {
  const producesResult = PRODUCES_RESULT.has(state.Type)
  let output: JsonValue
  if (lang === 'JSONata') {
    if (trace !== undefined && producesResult) {
      trace.result = result
    }
    if (state.Output === undefined) {
      output = producesResult ? result : rawInput
    } else {
      const extra: JsonObject = producesResult ? { result } : {}
      output = await evaluateJsonataTemplate(
        state.Output,
        bindings(scope, withStates(states, rawInput, scope, extra)),
        'Output',
      )
    }
  } else if (producesResult || state.Type === 'Pass') {
    if (trace !== undefined) {
      trace.result = result
    }
    const afterResultSelector =
      producesResult && state.ResultSelector !== undefined
        ? evaluatePayloadTemplate(state.ResultSelector, result, scope)
        : result
    if (trace !== undefined) {
      trace.afterResultSelector = afterResultSelector
    }
    const afterResultPath = writeResultPath(rawInput, state.ResultPath, afterResultSelector)
    if (trace !== undefined) {
      trace.afterResultPath = afterResultPath
    }
    output = applyInputPath(afterResultPath, state.OutputPath, scope)
  } else {
    output = applyInputPath(result, state.OutputPath, scope)
  }
  checkSize(output, 'state output')
  return output
}

/** The output of a Catch that handled `errorOutput` (`{Error, Cause}`) for `rawInput`. */
export async function catcherOutput(
  catcher: Catcher,
  rawInput: JsonValue,
  errorOutput: { readonly Error: string; readonly Cause?: string },
  scope: PathScope,
  lang: QueryLanguage,
  states: JsonObject,
): Promise<JsonValue> {
  const error: JsonObject = { ...errorOutput }
  let output: JsonValue
  if (lang === 'JSONata') {
    output =
      catcher.Output === undefined
        ? error
        : await evaluateJsonataTemplate(
            catcher.Output,
            bindings(scope, withStates(states, rawInput, scope, { errorOutput: error })),
            'Output',
          )
  } else {
    output = writeResultPath(rawInput, catcher.ResultPath, error)
  }
  checkSize(output, 'state output')
  return output
}

/**
 * The variables an `Assign` sets. JSONPath: `$` is `data` (a state's raw result, a Choice's or
 * Wait's input, a Catch's error output). JSONata: `states` must already hold what the state
 * exposes (`result`, `errorOutput`). Every value sees the variables from before the state.
 */
export async function evaluateAssign(
  assign: JsonObject,
  data: JsonValue,
  scope: PathScope,
  lang: QueryLanguage,
  states: JsonObject,
): Promise<Record<string, JsonValue>> {
  const values =
    lang === 'JSONata'
      ? await evaluateJsonataTemplate(
          assign,
          bindings(scope, withStates(states, data, scope)),
          'Assign',
        )
      : evaluatePayloadTemplate(assign, data, scope)
  checkSize(values, 'Assign value')
  return values as Record<string, JsonValue>
}

function typeName(value: JsonValue): string {
  if (value === null) {
    return 'null'
  }
  if (Array.isArray(value)) {
    return 'array'
  }
  return typeof value
}

/**
 * The items a Map iterates over: JSONPath `ItemsPath` (default `$`) on the effective input;
 * JSONata `Items` (an array or an expression, default the input).
 */
export async function mapItems(
  state: StateBase,
  effective: JsonValue,
  scope: PathScope,
  lang: QueryLanguage,
  states: JsonObject,
  trace?: StateIoTrace,
): Promise<JsonValue[]> {
  let items: JsonValue
  if (lang === 'JSONata') {
    const source = state.Items as JsonValue | undefined
    if (source === undefined) {
      if (!Array.isArray(effective)) {
        throw new AslError(
          'States.QueryEvaluationError',
          `Map state input must be an array but was: ${JSON.stringify(effective)}`,
        )
      }
      items = effective
    } else {
      items = await evaluateJsonataTemplate(
        source,
        bindings(scope, withStates(states, effective, scope)),
        'Items',
      )
      if (!Array.isArray(items)) {
        const text = isJsonataExpression(source)
          ? jsonataExpressionText(source)
          : JSON.stringify(source)
        throw new AslError(
          'States.QueryEvaluationError',
          `The JSONata expression '${text}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '${typeName(items)}' for value: ${JSON.stringify(items)}`,
        )
      }
    }
  } else {
    const path = typeof state.ItemsPath === 'string' ? state.ItemsPath : '$'
    items = readPath(effective, path, scope)
    if (!Array.isArray(items)) {
      const shown = path.startsWith('$$') ? path.slice(1) : path
      throw new AslError('States.Runtime', `Reference path "${shown}" must point to array.`)
    }
  }
  if (trace !== undefined) {
    trace.afterItemsPath = items
  }
  return items
}

/** `$$` for one Map iteration: the Map state's context plus `Map.Item.{Index, Value}`. */
export function mapItemContext(context: JsonValue, index: number, value: JsonValue): JsonValue {
  const base =
    typeof context === 'object' && context !== null && !Array.isArray(context) ? context : {}
  return { ...base, Map: { Item: { Index: index, Value: value } } }
}

/**
 * One iteration's input: the ItemSelector (or legacy Parameters) evaluated against the Map's
 * effective input with `$$.Map.Item` set (`scope.context` must already carry it, see
 * `mapItemContext`), else the item itself.
 */
export async function mapItemInput(
  state: StateBase,
  item: JsonValue,
  effective: JsonValue,
  scope: PathScope,
  lang: QueryLanguage,
  states: JsonObject,
): Promise<JsonValue> {
  const selector = (state.ItemSelector ?? (lang === 'JSONPath' ? state.Parameters : undefined)) as
    JsonValue | undefined
  if (selector === undefined) {
    return item
  }
  if (lang === 'JSONata') {
    return evaluateJsonataTemplate(
      selector,
      bindings(scope, withStates({ ...states, context: scope.context }, effective, scope)),
      'ItemSelector',
    )
  }
  return evaluatePayloadTemplate(selector, effective, scope)
}
