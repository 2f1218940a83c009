/**
 * @module RetryPolicy: when an async event's next attempt may start. Function errors back off from
 * `functionErrorBaseMs` (Lambda's one and two minutes by default), system errors from
 * `systemErrorBaseMs` up to `systemErrorMaxMs`; both double per failure and are jittered.
 */

export interface RetryPolicyOptions {
  readonly functionErrorBaseMs: number
  readonly systemErrorBaseMs: number
  readonly systemErrorMaxMs: number
  /** Uniform in [0, 1); injectable so a test can pin the jitter. */
  readonly random?: () => number
}

export class RetryPolicy {
  readonly #o: RetryPolicyOptions
  readonly #random: () => number

  constructor(options: RetryPolicyOptions) {
    this.#o = options
    this.#random = options.random ?? Math.random
  }

  /**
   * "Equal jitter": half the exponential delay is kept, the other half is random, so retries of
   * events that failed together spread out without ever coming sooner than half the backoff.
   */
  #jitter(delayMs: number): number {
    return Math.round(delayMs / 2 + (this.#random() * delayMs) / 2)
  }

  /** Delay before the retry that follows the `failures`-th function error (1, 2, …). */
  functionErrorDelayMs(failures: number): number {
    return this.#jitter(this.#o.functionErrorBaseMs * 2 ** Math.max(0, failures - 1))
  }

  /** Delay before the retry that follows the `failures`-th system error (1, 2, …). */
  systemErrorDelayMs(failures: number): number {
    const exp = this.#o.systemErrorBaseMs * 2 ** Math.min(30, Math.max(0, failures - 1))
    return this.#jitter(Math.min(this.#o.systemErrorMaxMs, exp))
  }
}
