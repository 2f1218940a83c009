/**
 * @module Where a compiled node's work states find their input and leave their result.
 */
import type { JsonObject } from '../asl/definition.js'
import type { DataFilter } from './workflow-model.js'

/** With on_errors, the node input inside the wrapper the node's states pass along. */
export const WRAPPED_INPUT = '$.input'
/** With on_errors, where the work's result goes in the wrapper. */
export const WRAPPED_RESULT = '$.value'

/**
 * How a node's work states (its functions, branches or iterations) sit in the data. Unwrapped,
 * they read the node input (after `state_data_filter.input`) and their result is the output.
 * Wrapped (the node has on_errors), their data is `{input, attempts}`: they read `$.input`, put
 * their result at `$.value` (or the Foreach's output_collection inside `$.input`), so that a
 * Catch still finds the node input to retry with.
 */
export interface Placement {
  readonly name: string
  readonly wrapped: boolean
  readonly filter: DataFilter
  readonly flow: { Next: string } | { End: true }
  readonly catch?: readonly JsonObject[]
}
