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

const DURATION = /^(\d{1,9})(ms|s|m|h|d)$/
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `--since`: a duration back from now (`90s`, `10m`, `2h`, `1d`) or a time (ISO 8601), as epoch ms. */
export function parseSince(value: string): number {
  const v = value.trim()
  const m = DURATION.exec(v)
  if (m !== null) {
    return Date.now() - Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1_000)
  }
  const ms = Date.parse(v)
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || !Number.isFinite(ms)) {
    throw new InvalidArgumentError(
      'must be a duration back from now (90s, 10m, 2h, 1d) or an ISO 8601 time (2026-12-06T07:00:00Z).',
    )
  }
  return ms
}

/** `--level`: the lowest logger level to show. */
export function parseLevel(value: string): string {
  const v = value.trim().toUpperCase()
  const level = v === 'WARNING' ? 'WARN' : v
  if (!['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(level)) {
    throw new InvalidArgumentError('must be DEBUG, INFO, WARN or ERROR.')
  }
  return level
}
