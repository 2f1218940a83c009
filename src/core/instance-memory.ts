/**
 * @module Dynamic memory (FunctionGraph `enable_dynamic_memory`): an invocation's
 * `X-Cff-Instance-Memory` header picks the memory size of the instance that serves it.
 */
import { StratoError } from './errors.js'
import type { FunctionRecord } from './function.js'
import { MEMORY_SIZES_MB } from './limits.js'

/** The header FunctionGraph reads on sync and async invocations. */
export const INSTANCE_MEMORY_HEADER = 'x-cff-instance-memory'

/**
 * The memory size an invocation asks for, or undefined for the function's own. As on FunctionGraph,
 * the header counts only when the function enables dynamic memory, an empty one means the
 * function's size, and a size outside FunctionGraph's list is refused with FSS.0406.
 */
export function requestedMemoryOf(
  fn: Pick<FunctionRecord, 'extra' | 'memorySizeMb'>,
  header: string | undefined,
): number | undefined {
  if (fn.extra['enable_dynamic_memory'] !== true || header === undefined || header.trim() === '') {
    return undefined
  }
  const mb = Number(header.trim())
  if (!MEMORY_SIZES_MB.includes(mb)) {
    throw new StratoError(
      'INVALID_INSTANCE_MEMORY',
      `X-Cff-Instance-Memory '${header.slice(0, 20)}' is not a memory size: one of ${MEMORY_SIZES_MB.join(', ')} (MB).`,
    )
  }
  return mb === fn.memorySizeMb ? undefined : mb
}
