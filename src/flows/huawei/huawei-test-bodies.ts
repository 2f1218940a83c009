/**
 * @module Test support for the compiler's tests: a small valid v2 body to vary, and the detail a
 * refused body is refused with.
 */
import { isStratoError } from '../../core/index.js'
import type { JsonObject } from '../asl/definition.js'
import { compileHuaweiWorkflow } from './compile-workflow.js'

export const F = 'urn:fss:cn-north-7:p0:function:default:f:latest'
export const G = 'urn:fss:cn-north-7:p0:function:default:g:latest'

export function body(states: JsonObject[], extra: JsonObject = {}): JsonObject {
  return {
    name: 'flow_1',
    start: states[0]?.['id'] ?? '',
    constants: {},
    retries: [{ name: 'r1', delay: 2, max_attempts: 4 }],
    functions: [
      { name: 'f', operation: F },
      { name: 'g', operation: G },
    ],
    states,
    ...extra,
  }
}

export const op = (id: string, rest: JsonObject = {}): JsonObject => ({
  id,
  name: id.toLowerCase(),
  type: 'Operation',
  actions: [{ function_ref: { ref_name: 'f' } }],
  end: true,
  transition: '',
  ...rest,
})

/** The FLOW_INVALID_DEFINITION detail the body is refused with. */
export function refusal(raw: unknown): string {
  try {
    compileHuaweiWorkflow(raw)
  } catch (err) {
    if (isStratoError(err, 'FLOW_INVALID_DEFINITION')) {
      return err.message
    }
    throw err
  }
  throw new Error('the body was accepted')
}
