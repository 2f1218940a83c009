/**
 * @module How the interpreter moves data through one state visit, in both query languages, on
 * helper A's primitives (json-path, payload-template, jsonata-expressions): the effective input,
 * the output built from a result, Assign, and a catcher's output.
 *
 * JSONPath: InputPath → Parameters → execute → Assign (sees the result) → ResultSelector →
 * ResultPath (into the raw input) → OutputPath. JSONata: Arguments over `$states.input` → execute
 * → Assign and Output, both over `$states.result` and the variables from before the state.
 */
import type { JsonObject, JsonValue, StateBase } from './definition.js'
import { evaluateJsonataTemplate } from './jsonata-expressions.js'
import { readPath, writeResultPath } from './json-path.js'
import { evaluatePayloadTemplate } from './payload-template.js'
import type { Visit } from './run-scope.js'

function jsonataBindings(
  visit: Visit,
  states: JsonObject,
): {
  states: JsonObject
  variable: (name: string) => JsonValue | undefined
  random: () => number
} {
  return { states, variable: (name) => visit.scope.variables.get(name), random: visit.random }
}

/** Evaluates a JSONata template field (`Arguments`, `Output`, `Items`, …) for this visit. */
export function jsonataField(
  visit: Visit,
  template: JsonValue,
  field: string,
  states: JsonObject,
): Promise<JsonValue> {
  return evaluateJsonataTemplate(template, jsonataBindings(visit, states), field)
}

/** InputPath applied to the raw input (JSONPath); `null` keeps nothing. */
export function afterInputPath(visit: Visit, raw: JsonValue): JsonValue {
  const path = visit.state.InputPath
  if (visit.language === 'JSONata' || path === undefined) {
    return raw
  }
  if (path === null) {
    return {}
  }
  return readPath(raw, path, visit.pathScope())
}

/**
 * The input the state works on: JSONPath InputPath then `template` (Parameters or ItemSelector);
 * JSONata `template` (Arguments) over `$states.input`.
 */
export async function effectiveInput(
  visit: Visit,
  raw: JsonValue,
  template: JsonValue | undefined = visit.language === 'JSONata'
    ? visit.state.Arguments
    : visit.state.Parameters,
  field = visit.language === 'JSONata' ? 'Arguments' : 'Parameters',
): Promise<JsonValue> {
  if (visit.language === 'JSONata') {
    if (template === undefined) {
      return raw
    }
    return jsonataField(visit, template, field, visit.states(raw))
  }
  const input = afterInputPath(visit, raw)
  if (template === undefined) {
    return input
  }
  return evaluatePayloadTemplate(template, input, visit.pathScope())
}

/**
 * Assign's new values, evaluated over `value` ($ in JSONPath: the result, or the input for states
 * without one) or `states` (JSONata). All see the variables from before the state.
 */
export async function evaluateAssign(
  visit: Visit,
  assign: JsonObject | undefined,
  value: JsonValue,
  states: JsonObject,
): Promise<Record<string, JsonValue>> {
  if (assign === undefined) {
    return {}
  }
  if (visit.language === 'JSONata') {
    const out = await jsonataField(visit, assign, 'Assign', states)
    return out as Record<string, JsonValue>
  }
  return evaluatePayloadTemplate(assign, value, visit.pathScope()) as Record<string, JsonValue>
}

/**
 * The state's output from its raw input and result, and its Assign applied to the scope's
 * variables (after the output is computed, as both see the variables from before).
 * `hasResult`: Task/Map/Parallel/Pass (ResultSelector/ResultPath apply); others pass the input.
 */
export async function finishState(
  visit: Visit,
  raw: JsonValue,
  result: JsonValue,
  options: {
    readonly hasResult: boolean
    readonly assign?: JsonObject | undefined
    readonly output?: JsonValue | undefined
  },
): Promise<JsonValue> {
  const state: StateBase = visit.state
  const assignTemplate = 'assign' in options ? options.assign : state.Assign
  let output: JsonValue
  let assigned: Record<string, JsonValue>
  if (visit.language === 'JSONata') {
    const states = visit.states(raw, options.hasResult ? { result } : {})
    assigned = await evaluateAssign(visit, assignTemplate, result, states)
    const template = 'output' in options ? options.output : state.Output
    output = template === undefined ? result : await jsonataField(visit, template, 'Output', states)
  } else {
    assigned = await evaluateAssign(visit, assignTemplate, result, {})
    let selected = result
    if (options.hasResult && state.ResultSelector !== undefined) {
      selected = evaluatePayloadTemplate(state.ResultSelector, result, visit.pathScope())
    }
    output = options.hasResult ? writeResultPath(raw, state.ResultPath, selected) : selected
    output = applyOutputPath(visit, output)
  }
  visit.scope.variables.assign(assigned)
  return output
}

export function applyOutputPath(visit: Visit, value: JsonValue): JsonValue {
  const path = visit.state.OutputPath
  if (path === undefined) {
    return value
  }
  if (path === null) {
    return {}
  }
  return readPath(value, path, visit.pathScope())
}

/** The output of a catcher that caught `errorOutput`, and its Assign applied. */
export async function catcherOutput(
  visit: Visit,
  catcher: {
    readonly ResultPath?: string | null
    readonly Output?: JsonValue
    readonly Assign?: JsonObject
  },
  raw: JsonValue,
  errorOutput: JsonObject,
): Promise<JsonValue> {
  let output: JsonValue
  let assigned: Record<string, JsonValue>
  if (visit.language === 'JSONata') {
    const states = visit.states(raw, { errorOutput })
    assigned = await evaluateAssign(visit, catcher.Assign, errorOutput, states)
    output =
      catcher.Output === undefined
        ? errorOutput
        : await jsonataField(visit, catcher.Output, 'Output', states)
  } else {
    assigned = await evaluateAssign(visit, catcher.Assign, errorOutput, {})
    output = writeResultPath(raw, catcher.ResultPath, errorOutput)
  }
  visit.scope.variables.assign(assigned)
  return output
}
