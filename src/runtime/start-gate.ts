/**
 * @module The wait for an instance's start milestones (`cell`, then `ready`), each raced against its
 * deadline: booting gets the start timeout, loading the handler again the start timeout, then the
 * initializer its own timeout (re-armed on `initializing`).
 */

/**
 * Runs `fn` after the I/O that is already waiting has been read. When the event loop was held up,
 * Node runs due timers before it polls sockets: a deadline would then fire although the guest's
 * answer already sits in the socket. One poll first, and a met deadline is never judged missed.
 */
export function afterPendingIo(fn: () => void): void {
  setImmediate(fn)
}

interface Settle {
  readonly resolve: () => void
  readonly reject: (e: unknown) => void
}

export class StartGate {
  #timer: NodeJS.Timeout | undefined
  #settle: Settle | undefined
  /** The phase the armed deadline belongs to: a deferred check must not fire for a later phase. */
  #phase = 0

  /** Whether a milestone is awaited now. */
  get waiting(): boolean {
    return this.#settle !== undefined
  }

  /** Waits for the next milestone (`pass`); at the deadline, `onTimeout` runs (it should `take`). */
  await(ms: number, onTimeout: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject }
      this.rearm(ms, onTimeout)
    })
  }

  /** A new deadline for the milestone awaited now (the initializer started). */
  rearm(ms: number, onTimeout: () => void): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
    }
    const phase = ++this.#phase
    this.#timer = setTimeout(
      () =>
        afterPendingIo(() => {
          if (this.#settle !== undefined && this.#phase === phase) {
            onTimeout()
          }
        }),
      ms,
    )
  }

  /** The milestone was reached: the wait resolves. */
  pass(): void {
    this.take()?.resolve()
  }

  /** Ends the wait without settling it (the caller rejects it); undefined when none waited. */
  take(): Settle | undefined {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
    }
    const settle = this.#settle
    this.#settle = undefined
    return settle
  }
}
