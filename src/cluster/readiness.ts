/**
 * @module Readiness (`/strato/health/ready`): whether a load balancer should send this node
 * requests. Not ready while starting, once draining, and while a dependency it needs (the store,
 * NATS) does not answer. Liveness (`/strato/health`) stays separate: a node that is up but not
 * ready must not be restarted for it.
 */

export interface ReadinessCheck {
  readonly name: string
  /** Resolves true when the dependency answers; false or a rejection means not reachable. */
  check(): Promise<boolean> | boolean
}

export interface ReadinessReport {
  readonly ready: boolean
  readonly state: 'starting' | 'running' | 'draining'
  /** The checks that failed (their names). */
  readonly failing: readonly string[]
}

/** A slow dependency counts as down after this long: a probe must answer quickly. */
const CHECK_TIMEOUT_MS = 1_500
/** Results are reused this long, so frequent probes cost the dependencies little. */
const CACHE_MS = 1_000

export class Readiness {
  readonly #checks: readonly ReadinessCheck[]
  #state: ReadinessReport['state'] = 'starting'
  #cached: { at: number; failing: Promise<string[]> } | undefined

  constructor(checks: readonly ReadinessCheck[]) {
    this.#checks = checks
  }

  get state(): ReadinessReport['state'] {
    return this.#state
  }

  /** Start finished: ready as soon as the checks pass. */
  running(): void {
    if (this.#state === 'starting') {
      this.#state = 'running'
    }
  }

  /** Draining: not ready from now on, whatever the checks say. */
  draining(): void {
    this.#state = 'draining'
  }

  async report(): Promise<ReadinessReport> {
    const state = this.#state
    if (state !== 'running') {
      return { ready: false, state, failing: [] }
    }
    const now = Date.now()
    if (this.#cached === undefined || now - this.#cached.at >= CACHE_MS) {
      this.#cached = { at: now, failing: this.#run() }
    }
    const failing = await this.#cached.failing
    return { ready: failing.length === 0 && this.#state === 'running', state: this.#state, failing }
  }

  async #run(): Promise<string[]> {
    const results = await Promise.all(
      this.#checks.map(async (c) => ((await withTimeout(c.check())) ? undefined : c.name)),
    )
    return results.filter((name): name is string => name !== undefined)
  }
}

async function withTimeout(result: Promise<boolean> | boolean): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      Promise.resolve(result).catch(() => false),
      new Promise<boolean>(
        (resolve) => (timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS)),
      ),
    ])
  } finally {
    clearTimeout(timer)
  }
}
