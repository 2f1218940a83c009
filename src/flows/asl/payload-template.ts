/**
 * @module JSONPath-mode payload templates: Parameters, ItemSelector, ResultSelector and Assign.
 *
 * A key ending in `.$` holds a path (`$…` into the input, `$$…` into the context object, `$name…`
 * into a variable) or an intrinsic function call, and appears in the output without the `.$`.
 * Other values are copied, with nested objects and arrays walked the same way.
 */
import { AslError } from './asl-error.js'
import type { JsonObject, JsonValue } from './definition.js'
import { evaluateIntrinsic, isIntrinsicExpression } from './intrinsics.js'
import { lookupPath, type PathScope } from './json-path.js'

export function evaluatePayloadTemplate(
  template: JsonValue,
  input: JsonValue,
  scope: PathScope,
): JsonValue {
  if (Array.isArray(template)) {
    return template.map((item) => evaluatePayloadTemplate(item, input, scope))
  }
  if (typeof template !== 'object' || template === null) {
    return template
  }
  const out: JsonObject = {}
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) {
      out[key.slice(0, -2)] = evaluateDynamicField(key, value, input, scope)
    } else {
      out[key] = evaluatePayloadTemplate(value, input, scope)
    }
  }
  return out
}

/** The value of one `.$` field; `field` is the key as written (for error messages). */
export function evaluateDynamicField(
  field: string,
  expression: JsonValue,
  input: JsonValue,
  scope: PathScope,
): JsonValue {
  if (typeof expression !== 'string') {
    throw new AslError(
      'States.Runtime',
      `The value of the field '${field}' must be a path or an intrinsic function, got ${JSON.stringify(expression)}`,
    )
  }
  if (isIntrinsicExpression(expression)) {
    return evaluateIntrinsic(expression, input, scope)
  }
  const lookup = lookupPath(input, expression, scope)
  if (lookup.found) {
    return lookup.value
  }
  throw new AslError(
    'States.Runtime',
    `The JSONPath '${expression}' specified for the field '${field}' could not be found in the input '${JSON.stringify(input)}'`,
  )
}
