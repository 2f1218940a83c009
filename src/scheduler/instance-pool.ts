/**
 * @module InstancePool: warm reuse, scaling up to a function's max instances, a bounded wait when
 * all are busy, idle reclaim, and the per-invocation log. Implements core's Invoker port.
 */
import {
  StratoError,
  instanceKeyOf,
  runtimeFamilyOf,
  type FunctionRecord,
  type CallerPresence,
  type InvocationRequest,
  type InvocationObserver,
  type InvocationResult,
  type Invoker,
  type LaunchTiming,
} from '../core/index.js'
import type { Logger } from '../observability/index.js'
import { FunctionFailure, type GuestOutcome } from '../runtime/index.js'
import { invocationRecordOf } from './invocation-record.js'
import { functionHeadersOf, launchRequestOf, variablesOf } from './launch-request.js'
import type {
  CodeVerifier,
  InstanceSlotClaims,
  InvocationLogSink,
  Launcher,
  PooledInstance,
} from './pool-ports.js'
import {
  deletedWhileWaiting,
  isEmpty,
  newRevisionPool,
  rejectWaiters,
  type RevisionPool,
  type Waiter,
} from './revision-pool.js'

export interface InstancePoolOptions {
  readonly launcher: Launcher
  readonly code: CodeVerifier
  readonly logs: InvocationLogSink
  readonly logger: Logger
  readonly region: string
  readonly idleTtlMs: number
  readonly queueWaitMs: number
  readonly maxInstancesPerFunction: number
  /** Opens sealed `encrypted_user_data`; plaintext goes only into the instance's environment. */
  readonly openSecret: (sealed: string) => string
  /** The verified code trees of the dependency versions a function attaches, in order. */
  readonly dependencyDirs: (fn: FunctionRecord) => Promise<string[]>
  /** Told of every outcome, throttle and start time (metrics, usage); absent in unit tests. */
  readonly observer?: InvocationObserver
  /**
   * A reserved instance of this function version went away on its own (crashed, killed), not
   * because Strato stopped it: the reservation keeper replaces it, backing off if it keeps dying.
   */
  readonly onReservedExit?: (functionId: string, version: string) => void
  /**
   * Cluster mode: max instances holds across the cluster. A slot is claimed before each launch and
   * given back when the instance is gone; warm requests never touch it. Absent: local count only.
   */
  readonly slots?: InstanceSlotClaims
}

/** Every cluster-wide slot of the function is held: the request waits as at the local max. */
class NoFreeSlot extends Error {
  constructor() {
    super('Every instance slot of the function is held across the cluster.')
  }
}

/** While requests wait for a cluster-wide slot, how often one is tried again. */
const SLOT_RETRY_MS = 250

/**
 * The pool key of a function's instances: `instanceKeyOf`, plus the memory size when a request
 * asked for one (dynamic memory), so a request is served only by instances of its size.
 */
function poolKeyOf(fn: FunctionRecord, dynamicMemory: boolean): string {
  const key = instanceKeyOf(fn)
  return dynamicMemory ? `${key}~${fn.memorySizeMb}MB` : key
}

/**
 * Instances of one function that may be starting at once. A burst of requests to a cold function
 * would otherwise start one instance per request at the same time; on a small machine such a storm
 * pushes every start past its deadline. The requests beyond it take instances as they come free.
 */
const PARALLEL_STARTS_PER_FUNCTION = 4

export class InstancePool implements Invoker {
  readonly #o: InstancePoolOptions
  /** The current pool of each function version, by `instanceKeyOf`. */
  readonly #pools = new Map<string, RevisionPool>()
  /** Retired pools that still have instances busy or requests waiting; gone once empty. */
  readonly #draining = new Set<RevisionPool>()
  readonly #reaper: NodeJS.Timeout
  /**
   * When each new instance was started and ready, until the first invocation it serves takes it:
   * that invocation's cold start (metrics' init time, tracing's cold-start span).
   */
  readonly #launches = new WeakMap<PooledInstance, LaunchTiming>()
  /** Pools whose waiters try for a cluster-wide slot again soon. */
  readonly #slotRetries = new Map<RevisionPool, NodeJS.Timeout>()
  #closed = false

  constructor(options: InstancePoolOptions) {
    this.#o = options
    const every = Math.max(250, Math.min(options.idleTtlMs / 2, 5_000))
    this.#reaper = setInterval(() => this.#reapIdle(), every)
    this.#reaper.unref()
  }

  #allPools(): RevisionPool[] {
    return [...this.#pools.values(), ...this.#draining]
  }

  #poolsOf(functionId: string): RevisionPool[] {
    return this.#allPools().filter((p) => p.functionId === functionId)
  }

  /** Instances of a function in any state, across its versions and revisions. */
  #instanceCount(functionId: string): number {
    return this.#poolsOf(functionId).reduce(
      (n, p) => n + p.idle.length + p.busy.size + p.starting + p.reservedStarting,
      0,
    )
  }

  #startsInFlight(functionId: string): number {
    return this.#poolsOf(functionId).reduce((n, p) => n + p.starting, 0)
  }

  /** Stops one idle instance of another version of the function, to make room under its cap. */
  #evictIdle(functionId: string, except: RevisionPool): boolean {
    for (const other of this.#poolsOf(functionId)) {
      // Reserved instances are kept whatever else wants room.
      const at = other === except ? -1 : other.idle.findIndex((i) => !other.reserved.has(i))
      const victim = at === -1 ? undefined : other.idle.splice(at, 1)[0]
      if (victim !== undefined) {
        void victim.stop()
        this.#dropIfEmpty(other)
        return true
      }
    }
    return false
  }

  /** Code digests that live instances (or requests waiting for one) still need. */
  digestsInUse(): Set<string> {
    return new Set(this.#allPools().map((p) => p.fn.digest))
  }

  /** Live instances per state, for the info endpoint and tests. */
  stats(): { idle: number; busy: number; starting: number; reserved: number } {
    let idle = 0
    let busy = 0
    let starting = 0
    let reserved = 0
    for (const p of this.#allPools()) {
      idle += p.idle.length
      busy += p.busy.size
      starting += p.starting + p.reservedStarting
      // Reserved instances are also idle or busy: this says how many of those are kept.
      reserved += p.reserved.size
    }
    return { idle, busy, starting, reserved }
  }

  /** Live instances of each function (all versions and states), sampled by metrics. */
  instancesByFunction(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const p of this.#allPools()) {
      const n = p.idle.length + p.busy.size + p.starting + p.reservedStarting
      counts.set(p.functionId, (counts.get(p.functionId) ?? 0) + n)
    }
    return counts
  }

  /** Live instances per function, and how many of them are reserved (for the minute metrics). */
  instanceCounts(): Map<string, { instances: number; reserved: number }> {
    const counts = new Map<string, { instances: number; reserved: number }>()
    for (const p of this.#allPools()) {
      const c = counts.get(p.functionId) ?? { instances: 0, reserved: 0 }
      c.instances += p.idle.length + p.busy.size
      c.reserved += p.reserved.size
      counts.set(p.functionId, c)
    }
    return counts
  }

  /** Reserved instances of `fn` (its version and revision) that are up or starting. */
  reservedCount(fn: FunctionRecord): number {
    const pool = this.#pools.get(poolKeyOf(fn, false))
    return pool === undefined ? 0 : pool.reserved.size + pool.reservedStarting
  }

  /**
   * Starts one reserved instance of `fn`, counted under its max instances. It serves a waiting
   * request at once if one waits, else goes idle and stays. Rejects when it cannot start.
   */
  async startReserved(fn: FunctionRecord): Promise<void> {
    if (this.#closed) {
      throw new StratoError('SERVICE_UNAVAILABLE', 'Strato is shutting down.')
    }
    const max = this.#maxInstances(fn)
    const pool = this.#poolFor(fn, false)
    if (this.#instanceCount(fn.id) >= max && !this.#evictIdle(fn.id, pool)) {
      this.#dropIfEmpty(pool)
      throw new StratoError(
        'TOO_MANY_REQUESTS',
        'The function is at its max instances: no room for another reserved instance.',
      )
    }
    pool.reservedStarting++
    let instance: PooledInstance
    try {
      instance = await this.#launch(pool, fn)
    } catch (err) {
      pool.reservedStarting--
      // Nothing may be left of a pool whose only start failed (its code would count as in use).
      this.#dropIfEmpty(pool)
      if (err instanceof NoFreeSlot) {
        throw new StratoError(
          'TOO_MANY_REQUESTS',
          'The function is at its max instances across the cluster: no room for another reserved instance.',
        )
      }
      throw err
    }
    pool.reservedStarting--
    // Started ahead of any request: its first request is no cold start.
    this.#launches.delete(instance)
    pool.reserved.add(instance)
    // Through the usual hand-back: a waiter takes it, a retired pool stops it, else it idles.
    instance.claim()
    pool.busy.add(instance)
    this.#release(pool, instance)
  }

  /** Turns `n` reserved instances of `fn` into on-demand ones (idle first): they age out as usual. */
  unreserve(fn: FunctionRecord, n: number): void {
    const pool = this.#pools.get(poolKeyOf(fn, false))
    if (pool === undefined) {
      return
    }
    const idleFirst = [...pool.idle.filter((i) => pool.reserved.has(i)), ...pool.reserved]
    for (const instance of idleFirst.slice(0, n)) {
      if (pool.reserved.delete(instance)) {
        instance.lastUsedAt = Date.now()
      }
    }
  }

  async invoke(request: InvocationRequest): Promise<InvocationResult> {
    const dynamicMemory = request.memorySizeMb !== undefined
    if (request.memorySizeMb !== undefined) {
      // Everything downstream (launch, headers, the log's memory size) sees the asked-for size.
      request = { ...request, fn: { ...request.fn, memorySizeMb: request.memorySizeMb } }
    }
    const fn = request.fn
    const started = Date.now()
    const pool = this.#poolFor(fn, dynamicMemory)
    let instance: PooledInstance
    try {
      instance = await this.#acquire(pool, fn, request.caller)
    } catch (err) {
      request.trace?.acquireFailed(started, err)
      // Nothing may be left of a pool that never got an instance (disabled, throttled, failed start).
      this.#dropIfEmpty(pool)
      if (err instanceof FunctionFailure) {
        // The code failed to load or initialise: that is the function's outcome, not Strato's.
        const failedAt = Date.now()
        this.#o.observer?.began(fn)
        return this.#finish(request, started, failedAt, 0, failedAt - started, {
          ok: false,
          body: err.toErrorJson(),
          text: false,
          errorType: err.errorType,
          memoryUsedMb: err.memoryUsedMb,
          log: err.log,
        })
      }
      if (err instanceof StratoError) {
        this.#o.observer?.refused(fn, err.code, err.spec.user)
      }
      throw err
    }
    const launch = this.#launches.get(instance)
    if (launch !== undefined) {
      this.#launches.delete(instance)
    }
    request.trace?.acquired(started, launch)
    if (request.caller?.gone() === true) {
      // Gone while its instance started (or while it was handed over): it never runs.
      this.#release(pool, instance)
      throw new StratoError('CLIENT_CLOSED', 'The caller went away before the request started.')
    }
    const invokeStart = Date.now()
    const initMs = launch === undefined ? -1 : launch.endMs - launch.startMs
    this.#o.observer?.began(fn)
    const traceHeaders = request.trace?.executing()
    let outcome: GuestOutcome | undefined
    try {
      outcome = await instance.invoke({
        requestId: request.requestId,
        payload: request.payload,
        timeoutMs: fn.timeoutS * 1000,
        invokeType: request.invokeType,
        alias: request.alias,
        // What FunctionGraph adds to every request an HTTP function's server receives.
        headers:
          request.http === undefined
            ? request.contextHeaders === undefined
              ? (traceHeaders ?? {})
              : { ...request.contextHeaders, ...traceHeaders }
            : {
                ...functionHeadersOf(request, this.#o.region),
                ...request.contextHeaders,
                ...traceHeaders,
              },
        ...(request.http === undefined ? {} : { http: request.http }),
      })
    } catch (err) {
      this.#o.observer?.broke(fn, err instanceof StratoError ? err.code : 'INTERNAL')
      throw err
    } finally {
      this.#release(pool, instance)
      request.trace?.executed(
        outcome === undefined
          ? 'SystemError'
          : outcome.ok
            ? undefined
            : (outcome.errorType ?? 'Error'),
      )
    }
    const queueWaitMs = Math.max(0, invokeStart - started - Math.max(0, initMs))
    return this.#finish(request, invokeStart, Date.now(), queueWaitMs, initMs, outcome)
  }

  #finish(
    request: InvocationRequest,
    startMs: number,
    endMs: number,
    queueWaitMs: number,
    initMs: number,
    outcome: GuestOutcome,
  ): InvocationResult {
    const fn = request.fn
    const record = invocationRecordOf(request, startMs, endMs, outcome)
    this.#o.logs.append(record, fn.projectId, fn.id)
    this.#o.observer?.finished(fn, record, queueWaitMs, initMs)
    const failed = !outcome.ok
    return {
      kind: failed ? 'function-error' : 'success',
      body: outcome.body,
      bodyIsText: outcome.text,
      record,
      ...(outcome.http === undefined || failed ? {} : { http: outcome.http }),
    }
  }

  #poolFor(fn: FunctionRecord, dynamicMemory: boolean): RevisionPool {
    const key = poolKeyOf(fn, dynamicMemory)
    const current = this.#pools.get(key)
    if (current !== undefined) {
      return current
    }
    // A request for a newer revision retires the older ones of the same version: code and config
    // updates never reach a running instance, and the next invocations get new instances. A late
    // request for an older revision (resolved just before the change) gets a pool retired at once.
    let newer = false
    for (const other of [...this.#pools.values()]) {
      if (other.functionId !== fn.id || other.fn.version !== fn.version) {
        continue
      }
      if (other.revision < fn.revision) {
        this.#retire(other)
      } else if (other.revision > fn.revision) {
        // (The same revision at another memory size is a sibling pool, not a newer one.)
        newer = true
      }
    }
    const pool = newRevisionPool(key, fn, newer)
    if (newer) {
      this.#draining.add(pool)
    } else {
      this.#pools.set(key, pool)
    }
    return pool
  }

  #maxInstances(fn: FunctionRecord): number {
    if (fn.maxInstances === 0) {
      throw new StratoError('FUNCTION_DISABLED')
    }
    const cap = this.#o.maxInstancesPerFunction
    return fn.maxInstances < 0 ? cap : Math.min(fn.maxInstances, cap)
  }

  async #acquire(
    pool: RevisionPool,
    fn: FunctionRecord,
    caller: CallerPresence | undefined,
  ): Promise<PooledInstance> {
    if (caller?.gone() === true) {
      throw new StratoError('CLIENT_CLOSED', 'The caller went away before the request started.')
    }
    if (this.#closed) {
      throw new StratoError('SERVICE_UNAVAILABLE', 'Strato is shutting down.')
    }
    const max = this.#maxInstances(fn)
    // With concurrent_num > 1, an instance already serving takes more first: fewer instances
    // stay warm, and fewer cold starts happen.
    for (const serving of pool.busy) {
      if (serving.claim()) {
        return serving
      }
    }
    // Reserved first (they are kept warm for this), then the most recently used: it is the
    // warmest, and the others age out sooner.
    const warm = this.#takeIdle(pool)
    if (warm !== undefined) {
      warm.claim()
      pool.busy.add(warm)
      return warm
    }
    if (this.#startsInFlight(fn.id) < PARALLEL_STARTS_PER_FUNCTION) {
      // Max instances holds across the function's versions: room may be made by stopping an idle
      // instance of another version.
      if (this.#instanceCount(fn.id) < max || this.#evictIdle(fn.id, pool)) {
        if (this.#o.slots === undefined) {
          return this.#startFor(pool, fn)
        }
        try {
          return await this.#startFor(pool, fn)
        } catch (err) {
          if (!(err instanceof NoFreeSlot)) {
            throw err
          }
          // The cluster is at the function's max: wait as at the local max, trying for a slot.
          this.#retrySlotSoon(pool)
        }
      }
    }
    return this.#wait(pool, max, caller)
  }

  /** Queues the request until an instance of the pool frees up, or 429 after `queueWaitMs`. */
  #wait(
    pool: RevisionPool,
    max: number,
    caller: CallerPresence | undefined,
  ): Promise<PooledInstance> {
    return new Promise<PooledInstance>((resolve, reject) => {
      const leave = (err: StratoError): void => {
        const i = pool.waiters.indexOf(waiter)
        if (i !== -1) {
          pool.waiters.splice(i, 1)
          waiter.settle()
          reject(err)
          this.#dropIfEmpty(pool)
        }
      }
      const timer = setTimeout(
        () =>
          leave(
            new StratoError(
              'TOO_MANY_REQUESTS',
              `All ${max} instances of the function are busy and none freed up within ${this.#o.queueWaitMs} ms.`,
            ),
          ),
        this.#o.queueWaitMs,
      )
      // A caller that has gone away (its HTTP client disconnected) gives up its place in line, so
      // abandoned requests never run.
      const stopWatching = caller?.onGone(() =>
        leave(new StratoError('CLIENT_CLOSED', 'The caller went away while the request waited.')),
      )
      const waiter: Waiter = {
        resolve,
        reject,
        settle: () => {
          clearTimeout(timer)
          stopWatching?.()
        },
      }
      pool.waiters.push(waiter)
    })
  }

  #takeIdle(pool: RevisionPool): PooledInstance | undefined {
    if (pool.reserved.size > 0) {
      for (let i = pool.idle.length - 1; i >= 0; i--) {
        const candidate = pool.idle[i]
        if (candidate !== undefined && pool.reserved.has(candidate)) {
          pool.idle.splice(i, 1)
          return candidate
        }
      }
    }
    return pool.idle.pop()
  }

  /**
   * Verifies the code and starts one instance of `fn` for `pool`; it forgets itself on exit. In
   * cluster mode it first claims a slot (throws `NoFreeSlot` when none is free), given back when
   * the instance is gone or its start failed.
   */
  async #launch(pool: RevisionPool, fn: FunctionRecord): Promise<PooledInstance> {
    const launchStart = Date.now()
    const family = runtimeFamilyOf(fn.runtime)
    if (family === undefined) {
      throw new StratoError('INVALID_RUNTIME', `Runtime '${fn.runtime}' cannot run here.`)
    }
    const slot = await this.#claimSlot(fn)
    let instance: PooledInstance
    try {
      // The digest is checked before every instance start: changed code is refused, never run.
      const codeDir = await this.#o.code.verify(fn.digest)
      const variables = variablesOf(fn, this.#o.openSecret)
      const dependencyDirs = await this.#o.dependencyDirs(fn)
      instance = await this.#o.launcher.launch(
        launchRequestOf(fn, { family, codeDir, dependencyDirs, variables, region: this.#o.region }),
      )
    } catch (err) {
      void slot?.release()
      throw err
    }
    this.#launches.set(instance, { startMs: launchStart, endMs: Date.now() })
    instance.onExit(() => {
      void slot?.release()
      this.#forget(pool, instance)
      // The slot may be what another waiter of the cluster-wide max needs.
      if (slot !== undefined && pool.waiters.length > 0) {
        this.#retrySlotSoon(pool)
      }
    })
    return instance
  }

  async #claimSlot(fn: FunctionRecord): Promise<{ release(): Promise<void> } | undefined> {
    const slots = this.#o.slots
    if (slots === undefined) {
      return undefined
    }
    const max = this.#maxInstances(fn)
    let hold: { release(): Promise<void> } | undefined
    try {
      // Per function, not per version: the max counts every version's instances, as the local cap does.
      hold = await slots.claim(fn.id, max)
    } catch (err) {
      this.#o.logger.warn({ err, functionId: fn.id }, 'claiming a cluster instance slot failed')
      throw new StratoError(
        'SERVICE_UNAVAILABLE',
        'The cluster could not be asked for an instance slot; try again.',
      )
    }
    if (hold === undefined) {
      throw new NoFreeSlot()
    }
    if (this.#closed) {
      void hold.release()
      throw new StratoError('SERVICE_UNAVAILABLE', 'Strato is shutting down.')
    }
    return hold
  }

  /** Cluster mode: requests wait for a slot another node may free; try again shortly. */
  #retrySlotSoon(pool: RevisionPool): void {
    if (this.#closed || this.#slotRetries.has(pool)) {
      return
    }
    const timer = setTimeout(() => {
      this.#slotRetries.delete(pool)
      if (pool.waiters.length > 0) {
        this.#startForWaiters(pool)
      }
    }, SLOT_RETRY_MS)
    timer.unref()
    this.#slotRetries.set(pool, timer)
  }

  /**
   * Cluster mode: starts an instance for the pool's waiters without taking one out of line first
   * (a start refused for want of a slot leaves them waiting, their timers running). The new
   * instance goes through the usual hand-back: the first waiter takes it.
   */
  #startSpare(pool: RevisionPool): void {
    pool.starting++
    this.#launch(pool, pool.fn).then(
      (instance) => {
        pool.starting--
        instance.claim()
        pool.busy.add(instance)
        this.#release(pool, instance)
        this.#startForWaiters(pool)
      },
      (err: unknown) => {
        pool.starting--
        if (err instanceof NoFreeSlot) {
          this.#retrySlotSoon(pool)
          return
        }
        // As without slots: the failed start is the outcome of the first request in line. The
        // others keep waiting for a start of their own: try again shortly, as without a slot.
        const waiter = pool.waiters.shift()
        if (waiter !== undefined) {
          waiter.settle()
          waiter.reject(err)
        }
        if (pool.waiters.length > 0) {
          this.#retrySlotSoon(pool)
        }
        this.#dropIfEmpty(pool)
      },
    )
  }

  async #startFor(pool: RevisionPool, fn: FunctionRecord): Promise<PooledInstance> {
    pool.starting++
    try {
      const instance = await this.#launch(pool, fn)
      pool.busy.add(instance)
      instance.claim()
      // With concurrent_num > 1 the new instance can take more of the requests waiting now.
      while (!this.#closed && pool.waiters.length > 0 && instance.hasRoom) {
        const waiter = pool.waiters.shift()
        if (waiter !== undefined) {
          waiter.settle()
          instance.claim()
          waiter.resolve(instance)
        }
      }
      return instance
    } finally {
      pool.starting--
      this.#startForWaiters(pool)
    }
  }

  /** A start ended: if requests wait and there is room, start the next instance for the first. */
  #startForWaiters(pool: RevisionPool): void {
    if (this.#closed || pool.waiters.length === 0) {
      return
    }
    if (this.#startsInFlight(pool.functionId) >= PARALLEL_STARTS_PER_FUNCTION) {
      return
    }
    let max: number
    try {
      max = this.#maxInstances(pool.fn)
    } catch {
      return
    }
    if (this.#instanceCount(pool.functionId) >= max && !this.#evictIdle(pool.functionId, pool)) {
      return
    }
    if (this.#o.slots !== undefined) {
      this.#startSpare(pool)
      return
    }
    const waiter = pool.waiters.shift()
    if (waiter !== undefined) {
      waiter.settle()
      this.#startFor(pool, pool.fn).then(waiter.resolve, waiter.reject)
    }
  }

  /** Requests of other versions of the function that wait for room under its cap. */
  #otherWaiting(pool: RevisionPool): RevisionPool | undefined {
    return this.#poolsOf(pool.functionId).find((p) => p !== pool && p.waiters.length > 0)
  }

  #release(pool: RevisionPool, instance: PooledInstance): void {
    instance.unclaim()
    if (instance.claimed > 0 && (instance.state === 'busy' || instance.state === 'idle')) {
      // Others still hold the instance (concurrent_num > 1): the freed slot goes to the first
      // request waiting, if any. The last holder to leave decides where it goes next.
      const waiter = this.#closed ? undefined : pool.waiters.shift()
      if (waiter !== undefined) {
        waiter.settle()
        instance.claim()
        waiter.resolve(instance)
      }
      return
    }
    pool.busy.delete(instance)
    if (instance.state !== 'idle') {
      this.#serveWaiters(pool)
      return // it died or is being stopped; #forget handles the rest
    }
    instance.lastUsedAt = Date.now()
    // Requests queued before a code or config change still run here: they were accepted against
    // this revision, and a change never alters an instance in use.
    const waiter = this.#closed ? undefined : pool.waiters.shift()
    if (waiter !== undefined) {
      waiter.settle()
      pool.busy.add(instance)
      instance.claim()
      waiter.resolve(instance)
      return
    }
    if (pool.retired || this.#closed) {
      void instance.stop()
      this.#dropIfEmpty(pool)
      return
    }
    // Another version waits for room under the function's cap: this instance makes way for it
    // (a reserved one stays).
    const other = pool.reserved.has(instance) ? undefined : this.#otherWaiting(pool)
    if (other !== undefined) {
      void instance.stop()
      this.#dropIfEmpty(pool)
      this.#startForWaiters(other)
      return
    }
    pool.idle.push(instance)
  }

  /** After an instance died, start a replacement for the first request still waiting. */
  #serveWaiters(pool: RevisionPool): void {
    // Waiters queue only when the pool is full; a death frees a slot, so start one instance for
    // the first waiter rather than letting it sit until its wait runs out.
    if (this.#o.slots !== undefined) {
      if (pool.waiters.length > 0 && !this.#closed) {
        this.#startSpare(pool)
      }
      return
    }
    const waiter = pool.waiters.shift()
    if (waiter === undefined || this.#closed) {
      return
    }
    waiter.settle()
    this.#startFor(pool, pool.fn).then(waiter.resolve, waiter.reject)
  }

  #forget(pool: RevisionPool, instance: PooledInstance): void {
    if (pool.reserved.delete(instance) && !pool.retired && !this.#closed) {
      this.#o.onReservedExit?.(pool.functionId, pool.fn.version)
    }
    pool.busy.delete(instance)
    const i = pool.idle.indexOf(instance)
    if (i !== -1) {
      pool.idle.splice(i, 1)
    }
    this.#dropIfEmpty(pool)
  }

  #dropIfEmpty(pool: RevisionPool): void {
    if (isEmpty(pool)) {
      // By identity: the key may already belong to a newer pool of the same revision.
      if (this.#pools.get(pool.key) === pool) {
        this.#pools.delete(pool.key)
      }
      this.#draining.delete(pool)
    }
  }

  /**
   * Takes a pool out of service: its idle instances stop, busy ones stop when they finish (after
   * serving the requests already queued for them), and new requests get a new pool.
   */
  #retire(pool: RevisionPool): void {
    pool.retired = true
    for (const instance of pool.idle.splice(0)) {
      void instance.stop()
    }
    if (this.#pools.get(pool.key) === pool) {
      this.#pools.delete(pool.key)
    }
    this.#draining.add(pool)
    this.#dropIfEmpty(pool)
  }

  /** See `Invoker.forget`: `version` only (`latest` after a change), or every version. */
  forget(functionId: string, version?: string, options?: { deleted?: boolean }): Promise<void> {
    const matches = (pool: RevisionPool): boolean =>
      pool.functionId === functionId && (version === undefined || pool.fn.version === version)
    for (const pool of [...this.#pools.values()].filter(matches)) {
      this.#retire(pool)
    }
    // Gone, not changed: what waits for one of its instances must not run after the delete.
    for (const pool of options?.deleted === true ? [...this.#draining].filter(matches) : []) {
      rejectWaiters(pool, deletedWhileWaiting(version))
    }
    return Promise.resolve()
  }

  #reapIdle(): void {
    const cutoff = Date.now() - this.#o.idleTtlMs
    for (const pool of this.#allPools()) {
      const keep: PooledInstance[] = []
      for (const instance of pool.idle) {
        if (instance.lastUsedAt < cutoff && !pool.reserved.has(instance)) {
          void instance.stop()
        } else {
          keep.push(instance)
        }
      }
      pool.idle.splice(0, pool.idle.length, ...keep)
      this.#dropIfEmpty(pool)
    }
  }

  /** Stops every instance; invocations in flight end with an instance-stopped error. */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#reaper)
    for (const timer of this.#slotRetries.values()) {
      clearTimeout(timer)
    }
    this.#slotRetries.clear()
    const stops: Array<Promise<void>> = []
    for (const pool of this.#allPools()) {
      rejectWaiters(pool, new StratoError('SERVICE_UNAVAILABLE', 'Strato is shutting down.'))
      for (const instance of [...pool.idle, ...pool.busy]) {
        stops.push(instance.stop())
      }
    }
    await Promise.all(stops)
    this.#pools.clear()
    this.#draining.clear()
  }
}
