/**
 * @module Retry in ASL's terms: the first retrier whose ErrorEquals matches an error decides alone
 * (an exhausted one does not fall through to later retriers), each retrier counts its own
 * attempts within one visit of the state, and the wait before retry n is
 * `min(IntervalSeconds × BackoffRate^(n-1), MaxDelaySeconds)`, with FULL jitter a uniform draw
 * below that.
 */
import { errorMatches } from './asl-error.js'
import type { Retrier } from './definition.js'

export const DEFAULT_INTERVAL_SECONDS = 1
export const DEFAULT_MAX_ATTEMPTS = 3
export const DEFAULT_BACKOFF_RATE = 2

/** The index of the retrier that decides for `error`, or -1 when none matches. */
export function decidingRetrier(retriers: readonly Retrier[], error: string): number {
  return retriers.findIndex((retrier) => errorMatches(retrier.ErrorEquals, error))
}

/** Whether a retrier that has already retried `retriesDone` times allows another retry. */
export function allowsRetry(retrier: Retrier, retriesDone: number): boolean {
  return retriesDone < (retrier.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS)
}

/**
 * The wait in ms before the retry numbered `retryNumber` (1 = the first retry) of this retrier;
 * `random` (in [0,1)) is drawn only for FULL jitter.
 */
export function retryDelayMs(retrier: Retrier, retryNumber: number, random: () => number): number {
  const interval = retrier.IntervalSeconds ?? DEFAULT_INTERVAL_SECONDS
  const rate = retrier.BackoffRate ?? DEFAULT_BACKOFF_RATE
  let seconds = interval * Math.pow(rate, retryNumber - 1)
  if (retrier.MaxDelaySeconds !== undefined) {
    seconds = Math.min(seconds, retrier.MaxDelaySeconds)
  }
  if (retrier.JitterStrategy === 'FULL') {
    seconds = random() * seconds
  }
  return Math.round(seconds * 1000)
}
