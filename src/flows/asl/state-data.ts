/**
 * @module The interpreter's view of a state visit's data flow: `state-io` (shared with TestState,
 * so both agree to the byte) called with the visit's path scope, query language and `$states`,
 * plus applying Assign to the scope's variables once the output is computed (Assign and Output
 * both see the variables from before the state).
 */
import type { Catcher, JsonObject, JsonValue, StateBase } from './definition.js'
import { evaluateJsonataTemplate } from './jsonata-expressions.js'
import type { Visit } from './run-scope.js'
import * as io from './state-io.js'

/** Evaluates a JSONata field (`Seconds`, `Condition`, `Error`, …) for this visit. */
export function jsonataField(
  visit: Visit,
  template: JsonValue,
  field: string,
  states: JsonObject,
): Promise<JsonValue> {
  const scope = visit.pathScope()
  return evaluateJsonataTemplate(
    template,
    { states, variable: scope.variable, random: scope.random },
    field,
  )
}

/** InputPath applied to the raw input (JSONPath; JSONata has none); `null` keeps nothing. */
export async function afterInputPath(visit: Visit, raw: JsonValue): Promise<JsonValue> {
  if (visit.language === 'JSONata') {
    return raw
  }
  // Without Parameters (which a Map's or Choice's effective input never applies), state-io's
  // effective input is InputPath alone.
  const state: StateBase = { ...visit.state, Parameters: undefined }
  return io.effectiveInput(state, raw, visit.pathScope(), 'JSONPath', visit.states(raw))
}

/** The input a Task/Parallel/Pass works on: InputPath + Parameters, or Arguments (JSONata). */
export function effectiveInput(visit: Visit, raw: JsonValue): Promise<JsonValue> {
  return io.effectiveInput(visit.state, raw, visit.pathScope(), visit.language, visit.states(raw))
}

/**
 * The state's output from its raw input and result, with its Assign applied afterwards.
 * `result`: a Task's/Map's/Parallel's result, a Pass's result, or the effective input of a
 * Choice/Wait/Succeed. `rule`: the matched Choice rule, whose Assign/Output take precedence.
 */
export async function finishState(
  visit: Visit,
  raw: JsonValue,
  result: JsonValue,
  rule?: { readonly Assign?: JsonObject; readonly Output?: JsonValue },
): Promise<JsonValue> {
  let state: StateBase = visit.state
  if (rule !== undefined) {
    state = { ...state, Assign: rule.Assign ?? state.Assign, Output: rule.Output ?? state.Output }
  }
  const scope = visit.pathScope()
  const producesResult = state.Type === 'Task' || state.Type === 'Map' || state.Type === 'Parallel'
  const states = visit.states(raw, producesResult ? { result } : {})
  const assigned =
    state.Assign === undefined
      ? {}
      : await io.evaluateAssign(state.Assign, result, scope, visit.language, states)
  const output = await io.stateOutput(state, raw, result, scope, visit.language, states)
  visit.scope.variables.assign(assigned)
  return output
}

/** The output of a catcher that caught `errorOutput`, with the catcher's Assign applied. */
export async function catcherOutput(
  visit: Visit,
  catcher: Catcher,
  raw: JsonValue,
  errorOutput: { readonly Error: string; readonly Cause?: string },
): Promise<JsonValue> {
  const scope = visit.pathScope()
  const states = visit.states(raw, { errorOutput })
  const assigned =
    catcher.Assign === undefined
      ? {}
      : await io.evaluateAssign(catcher.Assign, errorOutput, scope, visit.language, states)
  const output = await io.catcherOutput(catcher, raw, errorOutput, scope, visit.language, states)
  visit.scope.variables.assign(assigned)
  return output
}

/** The items a Map iterates over (`input`: after InputPath). */
export function mapItems(visit: Visit, raw: JsonValue, input: JsonValue): Promise<JsonValue[]> {
  const effective = visit.language === 'JSONata' ? raw : input
  return io.mapItems(visit.state, effective, visit.pathScope(), visit.language, visit.states(raw))
}

/** One Map iteration's input, with `$$.Map.Item` set for the ItemSelector. */
export function mapItemInput(
  visit: Visit,
  raw: JsonValue,
  input: JsonValue,
  item: { readonly index: number; readonly value: JsonValue },
): Promise<JsonValue> {
  const effective = visit.language === 'JSONata' ? raw : input
  return io.mapItemInput(
    visit.state,
    item.value,
    effective,
    visit.pathScope(item),
    visit.language,
    visit.states(raw, {}, item),
  )
}
