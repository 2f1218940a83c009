/**
 * @module How many instances a reservation asks for at a moment: its `count`, or the count of the
 * scheduled (cron) policy that fired last within its window. Cron expressions are FunctionGraph's
 * six fields, seconds first (five: day of week `?` added), in UTC, parsed by croner.
 */
import { Cron } from 'croner'
import type { ReservedCronPolicy, ReservedInstanceInput } from '../core/index.js'

function cronOf(expression: string): Cron {
  const fields = expression.trim().split(/\s+/)
  if (fields.length === 5) {
    fields.push('?')
  }
  if (fields.length !== 6) {
    throw new Error(`'${expression}' must have six fields, seconds first ('0 0 8 * * ?').`)
  }
  // Paused: croner only computes dates here; the keeper's tick applies them.
  return new Cron(fields.join(' '), { paused: true, mode: '6-part', timezone: 'Etc/UTC' })
}

/** Refuses an expression croner cannot parse or that never fires. */
export function checkReservedCron(expression: string): void {
  if (cronOf(expression).nextRun() === null) {
    throw new Error(`'${expression}' never fires.`)
  }
}

/** When `policy` last fired at or before `atMs` within its window, or undefined. */
function lastFiring(policy: ReservedCronPolicy, atMs: number): number | undefined {
  if (policy.expiredTime !== 0 && atMs >= policy.expiredTime * 1000) {
    return undefined
  }
  // previousRuns looks strictly before its reference: one ms later includes atMs itself.
  const [last] = cronOf(policy.cron).previousRuns(1, new Date(atMs + 1))
  const at = last?.getTime()
  return at === undefined || at < policy.startTime * 1000 ? undefined : at
}

/**
 * The reserved count at `atMs`: a cron policy sets its count from each firing on (inside its
 * start/expiry window); the one that fired last wins; with none in force, the base `count`.
 */
export function reservedCountAt(input: ReservedInstanceInput, atMs: number): number {
  let latest = -Infinity
  let count = input.count
  for (const policy of input.cronPolicies) {
    const at = lastFiring(policy, atMs)
    if (at !== undefined && at > latest) {
      latest = at
      count = policy.count
    }
  }
  return count
}
