/**
 * @module ReservationKeeper: keeps each stored reservation's instances alive in the pool. Every tick
 * it reconciles: the count the config asks for now (cron policies included) against the pool's
 * reserved instances of the function's current revision; it starts the missing ones (backing off
 * when they keep failing or dying) and hands surplus ones back to on-demand use. Reservations are
 * loaded from the repository at start, so they come back after a restart.
 */
import type {
  FunctionRecord,
  ReservedInstanceConfig,
  ReservedInstanceRepository,
  ReservedTarget,
} from '../core/index.js'
import type { Logger } from '../observability/index.js'
import type { Store } from '../store/index.js'
import { checkReservedCron, reservedCountAt } from './reserved-schedule.js'
import { ReservedInstanceMetrics, type MinuteValue } from './reserved-metrics.js'

/** What the keeper needs of the pool (`InstancePool` has it). */
export interface ReservingPool {
  reservedCount(fn: FunctionRecord): number
  startReserved(fn: FunctionRecord): Promise<void>
  unreserve(fn: FunctionRecord, n: number): void
  instanceCounts(): Map<string, { instances: number; reserved: number }>
}

export interface ReservationKeeperOptions {
  readonly pool: ReservingPool
  readonly configs: ReservedInstanceRepository
  /** The record a reservation's qualifier serves now; undefined once the function is gone. */
  readonly resolve: (target: ReservedTarget) => Promise<FunctionRecord | undefined>
  readonly logger: Logger
  /** How often reservations are reconciled and the minute metrics sampled. */
  readonly tickMs?: number
  /** First back-off after a failed start or a death; doubles up to `maxBackoffMs`. */
  readonly baseBackoffMs?: number
  readonly maxBackoffMs?: number
  /** A reservation without failures for this long (and complete) starts its back-off afresh. */
  readonly stableMs?: number
  /**
   * Cluster mode: how often the stored reservations are read again, so the leader (the one node
   * that keeps them, ADR 0027) sees configs other nodes stored. Unset: only at start.
   */
  readonly reloadEveryMs?: number
}

/** How one reservation is doing, as `listReservedInstanceConfigs` shows it. */
export interface ReservationStatus {
  /** The count asked for now (`count`, or the cron policy in force). */
  readonly target: number
  /** Reserved instances up or starting. */
  readonly ready: number
  /** Failed starts and deaths since the last start that stayed up. */
  readonly failures: number
  readonly lastError: string | undefined
  /** While backing off: when the next start is tried (ms since the epoch). */
  readonly retryAt: number | undefined
}

interface Kept {
  config: ReservedInstanceConfig
  fn: FunctionRecord | undefined
  target: number
  failures: number
  lastError: string | undefined
  lastFailureAt: number
  retryAt: number
}

const keyOf = (functionId: string, qualifier: string): string => `${functionId}\u0000${qualifier}`

export class ReservationKeeper {
  readonly #o: ReservationKeeperOptions
  readonly #kept = new Map<string, Kept>()
  readonly #metrics = new ReservedInstanceMetrics()
  #timer: NodeJS.Timeout | undefined
  #ticking: Promise<void> | undefined
  #again = false
  #stopped = false
  /** Keeping reservations now: always on one node; in a cluster, while this node leads. */
  #active = true
  #loadedAt = 0

  constructor(options: ReservationKeeperOptions) {
    this.#o = options
  }

  /** Loads every stored reservation and starts reconciling. */
  async start(): Promise<void> {
    if (this.#active) {
      await this.#load()
    }
    this.#timer = setInterval(() => void this.reconcile(), this.#o.tickMs ?? 1_000)
    this.#timer.unref()
    await this.reconcile()
  }

  stop(): void {
    this.#stopped = true
    clearInterval(this.#timer)
  }

  /**
   * Cluster mode: this node took (true) or lost (false) the leader's lease. Losing it hands every
   * reserved instance here back to on-demand use (they age out); taking it reads the stored
   * reservations afresh and starts what they ask for.
   */
  async setActive(active: boolean): Promise<void> {
    if (active === this.#active) {
      return
    }
    this.#active = active
    if (!active) {
      for (const kept of this.#kept.values()) {
        if (kept.fn !== undefined) {
          this.#o.pool.unreserve(kept.fn, Number.MAX_SAFE_INTEGER)
        }
      }
      return
    }
    await this.#load()
    await this.reconcile()
  }

  /** Reads every stored reservation; a changed or new one starts afresh, a gone one is dropped. */
  async #load(): Promise<void> {
    this.#loadedAt = Date.now()
    const configs = await this.#o.configs.listAll()
    const seen = new Set<string>()
    for (const config of configs) {
      const key = keyOf(config.functionId, config.qualifier)
      seen.add(key)
      const kept = this.#kept.get(key)
      if (kept === undefined || JSON.stringify(kept.config) !== JSON.stringify(config)) {
        this.#kept.set(key, this.#fresh(config))
      }
    }
    for (const [key, kept] of [...this.#kept]) {
      if (!seen.has(key)) {
        this.#kept.delete(key)
        if (kept.fn !== undefined) {
          this.#o.pool.unreserve(kept.fn, Number.MAX_SAFE_INTEGER)
        }
      }
    }
  }

  #fresh(config: ReservedInstanceConfig): Kept {
    return {
      config,
      fn: undefined,
      target: 0,
      failures: 0,
      lastError: undefined,
      lastFailureAt: 0,
      retryAt: 0,
    }
  }

  /** A config was stored: applied now (a new count resets the back-off). */
  set(config: ReservedInstanceConfig): Promise<void> {
    this.#kept.set(keyOf(config.functionId, config.qualifier), this.#fresh(config))
    return this.reconcile()
  }

  /** A config or its function is gone: its instances go back to on-demand use. */
  remove(functionId: string, qualifier?: string): void {
    for (const [key, kept] of [...this.#kept]) {
      if (
        kept.config.functionId === functionId &&
        (qualifier === undefined || kept.config.qualifier === qualifier)
      ) {
        this.#kept.delete(key)
        if (kept.fn !== undefined) {
          this.#o.pool.unreserve(kept.fn, Number.MAX_SAFE_INTEGER)
        }
      }
    }
  }

  status(functionId: string, qualifier: string): ReservationStatus | undefined {
    const kept = this.#kept.get(keyOf(functionId, qualifier))
    if (kept === undefined) {
      return undefined
    }
    return {
      target: kept.target,
      ready: kept.fn === undefined ? 0 : this.#o.pool.reservedCount(kept.fn),
      failures: kept.failures,
      lastError: kept.lastError,
      retryAt: kept.retryAt > Date.now() ? kept.retryAt : undefined,
    }
  }

  /** The pool reports a reserved instance that went away on its own. */
  readonly instanceDied = (functionId: string, version: string): void => {
    for (const kept of this.#kept.values()) {
      if (kept.fn?.id === functionId && kept.fn.version === version) {
        this.#failed(kept, 'A reserved instance exited; it is replaced.')
      }
    }
    void this.reconcile()
  }

  #failed(kept: Kept, message: string): void {
    kept.failures++
    kept.lastError = message
    kept.lastFailureAt = Date.now()
    const base = this.#o.baseBackoffMs ?? 1_000
    // The first death is replaced at once; repeated ones wait longer each time.
    const wait =
      kept.failures <= 1
        ? 0
        : Math.min(base * 2 ** (kept.failures - 2), this.#o.maxBackoffMs ?? 60_000)
    kept.retryAt = Date.now() + wait
  }

  /** One reconcile pass; a call during a pass runs one more after it. */
  reconcile(): Promise<void> {
    if (this.#ticking !== undefined) {
      this.#again = true
      return this.#ticking
    }
    this.#ticking = (async () => {
      do {
        this.#again = false
        await this.#pass()
      } while (this.#again && !this.#stopped)
    })().finally(() => {
      this.#ticking = undefined
    })
    return this.#ticking
  }

  async #pass(): Promise<void> {
    const now = Date.now()
    if (!this.#active) {
      this.#sample(now)
      return
    }
    const reloadEvery = this.#o.reloadEveryMs
    if (reloadEvery !== undefined && now - this.#loadedAt >= reloadEvery) {
      try {
        await this.#load()
      } catch (err) {
        this.#o.logger.warn({ err }, 'reading reservations failed; keeping the last ones read')
      }
    }
    for (const kept of [...this.#kept.values()]) {
      if (this.#stopped) {
        return
      }
      let fn: FunctionRecord | undefined
      try {
        fn = await this.#o.resolve(kept.config)
      } catch (err) {
        this.#o.logger.warn({ err, functionId: kept.config.functionId }, 'reservation unresolved')
        continue
      }
      if (fn === undefined) {
        // The function (or the version or alias) is gone; so is the config with a function.
        kept.fn = undefined
        const { functionId, qualifier } = kept.config
        if ((await this.#o.configs.get(functionId, qualifier)) === undefined) {
          this.#kept.delete(keyOf(functionId, qualifier))
          this.#metrics.forget(functionId)
        }
        continue
      }
      kept.fn = fn
      kept.target = reservedCountAt(kept.config, now)
      const have = this.#o.pool.reservedCount(fn)
      if (have > kept.target) {
        this.#o.pool.unreserve(fn, have - kept.target)
      } else if (have < kept.target && now >= kept.retryAt) {
        for (let i = have; i < kept.target; i++) {
          this.#startOne(kept, fn)
        }
      }
    }
    this.#sample(now)
  }

  #startOne(kept: Kept, fn: FunctionRecord): void {
    this.#o.pool.startReserved(fn).then(
      () => {
        if (!this.#active) {
          // Leadership went while it started: it joins the others handed back to on-demand use.
          this.#o.pool.unreserve(fn, Number.MAX_SAFE_INTEGER)
          return
        }
        if (kept.failures > 0) {
          this.#o.logger.info(
            { functionId: fn.id, qualifier: kept.config.qualifier },
            'reserved instance started again',
          )
        }
      },
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err)
        this.#failed(kept, `A reserved instance could not start: ${message}`)
        this.#o.logger.warn(
          { err, functionId: fn.id, qualifier: kept.config.qualifier, failures: kept.failures },
          'reserved instance could not start; backing off',
        )
      },
    )
  }

  /** Instances that have stayed up for `stableMs` end the back-off streak. */
  #settle(now: number): void {
    for (const kept of this.#kept.values()) {
      if (
        kept.failures > 0 &&
        kept.fn !== undefined &&
        now - kept.lastFailureAt >= (this.#o.stableMs ?? 30_000) &&
        this.#o.pool.reservedCount(kept.fn) >= kept.target
      ) {
        kept.failures = 0
        kept.lastError = undefined
      }
    }
  }

  #sample(now: number): void {
    this.#settle(now)
    this.#metrics.record(now, this.#o.pool.instanceCounts())
  }

  /** The last hour of a function's instance counts, one value per minute. */
  metricsOf(
    functionId: string,
    nowMs: number,
  ): { instanceNum: MinuteValue[]; reservedInstanceNum: MinuteValue[] } {
    return this.#metrics.of(functionId, nowMs)
  }

  readonly checkCron = checkReservedCron
}

/** Resolves a reservation's target through the store: `latest`, a published version, an alias. */
export function reservedTargetResolver(
  store: Pick<Store, 'functions' | 'versions'>,
): (target: ReservedTarget) => Promise<FunctionRecord | undefined> {
  return async (target) => {
    const latest = await store.functions.getById(target.projectId, target.functionId)
    if (latest === undefined) {
      return undefined
    }
    let version = target.qualifier
    if (target.qualifierType === 'alias') {
      const alias = await store.versions.getAlias(latest, target.qualifier)
      if (alias === undefined) {
        return undefined
      }
      version = alias.version
    }
    if (version === 'latest') {
      return latest
    }
    return (await store.versions.get(latest, version))?.fn
  }
}
