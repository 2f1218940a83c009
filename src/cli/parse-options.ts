/**
 * @module Parsers of `strato` option values. Each says exactly what a value must be, with the
 * range the server accepts, so a mistake is caught before any request (commander reports it as
 * "option '…' argument '…' is invalid. <what it must be>" and `runCli` exits 2).
 */
import { InvalidArgumentError } from 'commander'
import { Limits } from '../core/index.js'

/** A whole number from `min` to `max`, in `unit` (as in "a whole number of seconds"). */
export function wholeNumberIn(min: number, max: number, unit: string): (value: string) => number {
  return (value: string) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a whole number of ${unit} from ${min} to ${max}.`)
    }
    return n
  }
}

/** `--timeout`: FunctionGraph's range of a function's timeout. */
export const parseTimeoutSeconds = wholeNumberIn(
  Limits.TIMEOUT_MIN_S,
  Limits.TIMEOUT_MAX_S,
  'seconds',
)

/** `--memory`: one of FunctionGraph's memory sizes. */
export function parseMemoryMb(value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN
  if (!Limits.MEMORY_SIZES_MB.includes(n)) {
    throw new InvalidArgumentError(
      `must be one of these sizes in MB: ${Limits.MEMORY_SIZES_MB.join(', ')}.`,
    )
  }
  return n
}

/** `--env KEY=VALUE`, repeatable. */
export function collectEnv(
  value: string,
  previous: Record<string, string>,
): Record<string, string> {
  const eq = value.indexOf('=')
  if (eq <= 0) {
    throw new InvalidArgumentError(`must be KEY=VALUE.`)
  }
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) }
}

/** `--weight VERSION=PERCENT`, repeatable: an alias's additional version weights. */
export function collectWeight(
  value: string,
  previous: Record<string, number>,
): Record<string, number> {
  const m = /^([^=\s]+)=(\d{1,3})$/.exec(value.trim())
  const percent = m === null ? Number.NaN : Number(m[2])
  if (m === null || percent > 100) {
    throw new InvalidArgumentError('must be VERSION=PERCENT, the percent a whole number 0 to 100.')
  }
  return { ...previous, [m[1] ?? '']: percent }
}
