/**
 * @module The platform logger (pino). Function output never goes here: it goes to the invocation log.
 */
import { pino, type Logger } from 'pino'

export type { Logger }

/** Builds the platform logger; JSON lines on stdout. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'strato' } })
}
