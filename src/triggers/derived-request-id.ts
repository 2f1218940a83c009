/**
 * @module Request ids a trigger source derives instead of drawing: the same work (a timer's tick,
 * a log subscription's batch) always gets the same id, whichever process or node does it, so the
 * async queue, which ignores an id it already holds, accepts it once.
 */
import { createHash } from 'node:crypto'

/**
 * A UUID shaped like `newRequestId`'s (time first, version 7): its time is `timeMs` and its other
 * bits a hash of `key`.
 */
export function derivedRequestId(key: string, timeMs: number): string {
  const hash = createHash('sha256').update(key).digest('hex')
  const time = Math.max(0, Math.floor(timeMs)).toString(16).padStart(12, '0').slice(-12)
  const variant = ((parseInt(hash.slice(15, 16), 16) & 0x3) | 0x8).toString(16)
  return `${time.slice(0, 8)}-${time.slice(8)}-7${hash.slice(0, 3)}-${variant}${hash.slice(3, 6)}-${hash.slice(6, 18)}`
}
