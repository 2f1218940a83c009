/**
 * @module Invocation request ids.
 */
import { v7 } from 'uuid'

/**
 * A new request id: a UUID of RFC 9562's version 7, whose first 48 bits are the time in ms. Ids
 * made later sort later, so the indexes keyed by request id (invocation logs, async events) grow
 * at their end. With random (version 4) ids every insert lands on a random page: on the invocation
 * log an insert cost 6 µs at 1,000 rows and 13 µs at 40,000, and kept growing with the table.
 */
export function newRequestId(): string {
  return v7()
}
