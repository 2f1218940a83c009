/**
 * @module The poll loop of the sources that follow a feed (log subscriptions, the audit trail): one
 * pass over the subscriptions every `intervalMs`, never two at once, and a stop that waits for the
 * pass in progress.
 */

export class PollLoop {
  readonly #intervalMs: number
  readonly #pass: () => Promise<void>
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = true

  /** `pass` must not throw: a subscription's failure is its own (retried at the next pass). */
  constructor(intervalMs: number, pass: () => Promise<void>) {
    this.#intervalMs = intervalMs
    this.#pass = pass
  }

  /** Whether `stop` was called (a pass checks it between subscriptions). */
  get stopped(): boolean {
    return this.#stopped
  }

  start(): void {
    this.#stopped = false
    this.#schedule()
  }

  /** No pass starts after this; resolves once the one in progress (if any) ended. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  #schedule(): void {
    if (this.#stopped) {
      return
    }
    // The next pass is timed from the end of this one: a slow pass never overlaps the next.
    this.#timer = setTimeout(() => {
      this.#running = this.#pass().finally(() => {
        this.#running = undefined
        this.#schedule()
      })
    }, this.#intervalMs)
  }
}
