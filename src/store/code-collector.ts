/**
 * @module Removes code nothing uses any more: at start, every 10 minutes, and right after a delete
 * (a function, a version or a dependency version), so deleted code does not wait for the timer.
 */
import type { CodeCollection, CodeRepository } from '../core/index.js'

/** A repository whose rows reference code (functions, versions, dependencies). */
interface DigestHolder {
  referencedDigests(): Promise<Set<string>>
}

export interface CodeCollectorOptions {
  readonly code: Pick<CodeRepository, 'collectGarbage'>
  readonly functions: DigestHolder
  readonly versions: DigestHolder
  readonly dependencies: DigestHolder
  /** Digests live instances run (the scheduler's); their code stays while they run. */
  readonly inUse: () => Iterable<string>
  /** Told what each collection removed and what it could not; a failure never stops a start. */
  readonly onCollected: (outcome: CodeCollection) => void
  /** A collection that failed as a whole (the database could not be read). */
  readonly onError: (err: unknown) => void
}

export class CodeCollector {
  readonly #options: CodeCollectorOptions
  /** A background collection is asked for and has not begun: later asks join it. */
  #soonPending = false
  #timer: NodeJS.Timeout | undefined

  constructor(options: CodeCollectorOptions) {
    this.#options = options
  }

  /**
   * Collects now, then every `everyMs` (10 minutes) until `stop()`. The timer never keeps the
   * process alive.
   */
  async start(everyMs = 600_000): Promise<void> {
    await this.collect()
    this.#timer ??= setInterval(() => void this.collect(), everyMs)
    this.#timer.unref()
  }

  /** Stops the periodic collection (a collection running now finishes). */
  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Collects now (after any collection already running); reports through the options. */
  async collect(): Promise<void> {
    await this.#collect(() => undefined)
  }

  /**
   * Asks for a collection in the background (after a delete); never throws. Asks made while one
   * waits behind a running collection share it.
   */
  collectSoon(): void {
    if (this.#soonPending) {
      return
    }
    this.#soonPending = true
    void this.#collect(() => {
      this.#soonPending = false
    })
  }

  async #collect(onBegin: () => void): Promise<void> {
    const o = this.#options
    try {
      const outcome = await o.code.collectGarbage(async () => {
        // From here on, this run reads what is referenced: a later delete needs another run.
        onBegin()
        const keep = new Set(await o.functions.referencedDigests())
        for (const digest of [
          ...(await o.versions.referencedDigests()),
          ...(await o.dependencies.referencedDigests()),
          ...o.inUse(),
        ]) {
          keep.add(digest)
        }
        return keep
      })
      o.onCollected(outcome)
    } catch (err) {
      o.onError(err)
    }
  }
}
