/**
 * @module The idempotency key of a task attempt: the request id its function invocation carries
 * (`context.getRequestID()`). Derived, never random, so the re-dispatch of an attempt whose outcome
 * was not recorded before a crash sends the same id and the function can tell it saw it already.
 */
import { createHash } from 'node:crypto'

/** A UUID (version 8, RFC 9562's custom layout) from (execution, path, attempt, redrive). */
export function taskRequestId(
  executionId: string,
  path: string,
  attempt: number,
  redriveCount: number,
): string {
  const hash = createHash('sha256')
    .update(`${executionId}\u0000${path}\u0000${attempt}\u0000${redriveCount}`)
    .digest()
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x80
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
