/**
 * @module InstancePool: warm reuse, scaling up to a function's max instances, a bounded wait when
 * all are busy, idle reclaim, and the per-invocation log. Implements core's Invoker port.
 */
import {
  StratoError,
  cpuMillicoresOf,
  instanceKeyOf,
  runtimeFamilyOf,
  userDataEntries,
  type FunctionRecord,
  type CallerPresence,
  type InvocationRecord,
  type InvocationRequest,
  type InvocationResult,
  type Invoker,
} from '../core/index.js'
import type { Logger } from '../observability/index.js'
import {
  FunctionFailure,
  type GuestOutcome,
  type Instance,
  type InstanceLauncher,
} from '../runtime/index.js'
import type { CodeStore, InvocationLogStore } from '../store/index.js'

export interface InstancePoolOptions {
  readonly launcher: InstanceLauncher
  readonly code: CodeStore
  readonly logs: InvocationLogStore
  readonly logger: Logger
  readonly region: string
  readonly idleTtlMs: number
  readonly queueWaitMs: number
  readonly maxInstancesPerFunction: number
  /** Opens sealed `encrypted_user_data`; plaintext goes only into the instance's environment. */
  readonly openSecret: (sealed: string) => string
  /** The verified code trees of the dependency versions a function attaches, in order. */
  readonly dependencyDirs: (fn: FunctionRecord) => Promise<string[]>
}

interface Waiter {
  readonly resolve: (instance: Instance) => void
  readonly reject: (err: unknown) => void
  /** Clears the waiter's timer and abort listener once it leaves the queue. */
  readonly settle: () => void
}

/** The instances of one function revision. */
interface RevisionPool {
  readonly key: string
  readonly functionId: string
  readonly revision: number
  /** The function as last invoked through this pool, to start replacements with. */
  fn: FunctionRecord
  readonly idle: Instance[]
  readonly busy: Set<Instance>
  starting: number
  readonly waiters: Waiter[]
  /** A newer revision exists or the function is gone: no new work, instances stop when free. */
  retired: boolean
}

/**
 * Instances of one function that may be starting at once. A burst of requests to a cold function
 * would otherwise start one instance per request at the same time; on a small machine such a storm
 * pushes every start past its deadline. The requests beyond it take instances as they come free.
 */
const PARALLEL_STARTS_PER_FUNCTION = 4

export class InstancePool implements Invoker {
  readonly #o: InstancePoolOptions
  readonly #pools = new Map<string, RevisionPool>()
  readonly #reaper: NodeJS.Timeout
  #closed = false

  constructor(options: InstancePoolOptions) {
    this.#o = options
    const every = Math.max(250, Math.min(options.idleTtlMs / 2, 5_000))
    this.#reaper = setInterval(() => this.#reapIdle(), every)
    this.#reaper.unref()
  }

  /** Code digests that live instances (or requests waiting for one) still need. */
  digestsInUse(): Set<string> {
    return new Set([...this.#pools.values()].map((p) => p.fn.digest))
  }

  /** Live instances per state, for the info endpoint and tests. */
  stats(): { idle: number; busy: number; starting: number } {
    let idle = 0
    let busy = 0
    let starting = 0
    for (const p of this.#pools.values()) {
      idle += p.idle.length
      busy += p.busy.size
      starting += p.starting
    }
    return { idle, busy, starting }
  }

  async invoke(request: InvocationRequest): Promise<InvocationResult> {
    const fn = request.fn
    const started = Date.now()
    const pool = this.#poolFor(fn)
    let instance: Instance
    try {
      instance = await this.#acquire(pool, fn, request.caller)
    } catch (err) {
      // Nothing may be left of a pool that never got an instance (disabled, throttled, failed start).
      this.#dropIfEmpty(pool)
      if (err instanceof FunctionFailure) {
        // The code failed to load or initialise: that is the function's outcome, not Strato's.
        return this.#finish(request, started, Date.now(), {
          ok: false,
          body: err.toErrorJson(),
          text: false,
          errorType: err.errorType,
          memoryUsedMb: 0,
          log: err.log,
        })
      }
      throw err
    }
    const invokeStart = Date.now()
    let outcome: GuestOutcome
    try {
      outcome = await instance.invoke({
        requestId: request.requestId,
        payload: request.payload,
        timeoutMs: fn.timeoutS * 1000,
        invokeType: request.invokeType,
        alias: request.alias,
        headers: {},
      })
    } finally {
      this.#release(pool, instance)
    }
    return this.#finish(request, invokeStart, Date.now(), outcome)
  }

  #finish(
    request: InvocationRequest,
    startMs: number,
    endMs: number,
    outcome: GuestOutcome,
  ): InvocationResult {
    const fn = request.fn
    const durationMs = Math.max(0, endMs - startMs)
    const failed = !outcome.ok
    const record: InvocationRecord = {
      requestId: request.requestId,
      version: request.version,
      startedAtMs: startMs,
      durationMs,
      billedDurationMs: Math.max(1, Math.ceil(durationMs)),
      memorySizeMb: fn.memorySizeMb,
      memoryUsedMb: Math.round(outcome.memoryUsedMb * 1000) / 1000,
      errorType: failed ? (outcome.errorType ?? 'Error') : undefined,
      errorMessage: failed ? errorMessageOf(outcome.body) : undefined,
      output: outcome.log,
    }
    this.#o.logs.append({ ...record, projectId: fn.projectId, functionId: fn.id })
    return {
      kind: failed ? 'function-error' : 'success',
      body: outcome.body,
      bodyIsText: outcome.text,
      record,
    }
  }

  #poolFor(fn: FunctionRecord): RevisionPool {
    const key = instanceKeyOf(fn)
    let pool = this.#pools.get(key)
    if (pool === undefined) {
      // A request for a newer revision retires the older ones: code and config updates never
      // reach a running instance, and the next invocations get new instances. A late request for
      // an older revision (resolved just before the change) gets a pool that is retired at once.
      let newest = true
      for (const other of this.#pools.values()) {
        if (other.functionId !== fn.id || other.fn.version !== fn.version) {
          continue
        }
        if (other.revision < fn.revision) {
          this.#retire(other)
        } else {
          newest = false
        }
      }
      pool = {
        key,
        functionId: fn.id,
        revision: fn.revision,
        fn,
        idle: [],
        busy: new Set(),
        starting: 0,
        waiters: [],
        retired: !newest,
      }
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
  ): Promise<Instance> {
    if (caller?.gone() === true) {
      throw new StratoError('CLIENT_CLOSED', 'The caller went away before the request started.')
    }
    if (this.#closed) {
      throw new StratoError('SERVICE_UNAVAILABLE', 'Strato is shutting down.')
    }
    const max = this.#maxInstances(fn)
    // Most recently used first: it is the warmest, and the others age out sooner.
    const warm = pool.idle.pop()
    if (warm !== undefined) {
      pool.busy.add(warm)
      return warm
    }
    if (pool.busy.size + pool.starting < max && pool.starting < PARALLEL_STARTS_PER_FUNCTION) {
      return this.#startFor(pool, fn)
    }
    return new Promise<Instance>((resolve, reject) => {
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

  async #startFor(pool: RevisionPool, fn: FunctionRecord): Promise<Instance> {
    const family = runtimeFamilyOf(fn.runtime)
    if (family === undefined) {
      throw new StratoError('INVALID_RUNTIME', `Runtime '${fn.runtime}' cannot run here.`)
    }
    pool.starting++
    try {
      // The digest is checked before every instance start: changed code is refused, never run.
      const codeDir = await this.#o.code.verify(fn.digest)
      const variables: Record<string, string> = {
        ...userDataEntries(fn.userData),
        ...(fn.encryptedUserData === ''
          ? {}
          : (JSON.parse(this.#o.openSecret(fn.encryptedUserData)) as Record<string, string>)),
      }
      const dependencyDirs = await this.#o.dependencyDirs(fn)
      const instance = await this.#o.launcher.launch({
        family,
        codeDir,
        dependencyDirs,
        memorySizeMb: fn.memorySizeMb,
        cpuMillicores: cpuMillicoresOf(fn.memorySizeMb),
        timeoutS: fn.timeoutS,
        handler: fn.handler,
        initializerHandler: fn.initializerHandler,
        initializerTimeoutS: fn.initializerTimeoutS,
        env: {
          ...variables,
          RUNTIME_PROJECT_ID: fn.projectId,
          RUNTIME_FUNC_NAME: fn.name,
          RUNTIME_FUNC_VERSION: fn.version,
          RUNTIME_PACKAGE: fn.packageName,
          RUNTIME_USERDATA: JSON.stringify(variables),
          RUNTIME_REGION: this.#o.region,
        },
      })
      instance.onExit((dead) => this.#forget(pool, dead))
      pool.busy.add(instance)
      return instance
    } finally {
      pool.starting--
      this.#startForWaiters(pool)
    }
  }

  /** A start ended: if requests wait and there is room, start the next instance for the first. */
  #startForWaiters(pool: RevisionPool): void {
    if (
      this.#closed ||
      pool.waiters.length === 0 ||
      pool.starting >= PARALLEL_STARTS_PER_FUNCTION
    ) {
      return
    }
    let max: number
    try {
      max = this.#maxInstances(pool.fn)
    } catch {
      return
    }
    if (pool.busy.size + pool.starting >= max) {
      return
    }
    const waiter = pool.waiters.shift()
    if (waiter !== undefined) {
      waiter.settle()
      this.#startFor(pool, pool.fn).then(waiter.resolve, waiter.reject)
    }
  }

  #release(pool: RevisionPool, instance: Instance): void {
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
      waiter.resolve(instance)
      return
    }
    if (pool.retired || this.#closed) {
      void instance.stop()
      return
    }
    pool.idle.push(instance)
  }

  /** After an instance died, start a replacement for the first request still waiting. */
  #serveWaiters(pool: RevisionPool): void {
    // Waiters queue only when the pool is full; a death frees a slot, so start one instance for
    // the first waiter rather than letting it sit until its wait runs out.
    const waiter = pool.waiters.shift()
    if (waiter === undefined || this.#closed) {
      return
    }
    waiter.settle()
    this.#startFor(pool, pool.fn).then(waiter.resolve, waiter.reject)
  }

  #forget(pool: RevisionPool, instance: Instance): void {
    pool.busy.delete(instance)
    const i = pool.idle.indexOf(instance)
    if (i !== -1) {
      pool.idle.splice(i, 1)
    }
    this.#dropIfEmpty(pool)
  }

  #dropIfEmpty(pool: RevisionPool): void {
    if (
      pool.idle.length === 0 &&
      pool.busy.size === 0 &&
      pool.starting === 0 &&
      pool.waiters.length === 0
    ) {
      this.#pools.delete(pool.key)
    }
  }

  #retire(pool: RevisionPool): void {
    pool.retired = true
    for (const instance of pool.idle.splice(0)) {
      void instance.stop()
    }
    this.#dropIfEmpty(pool)
  }

  /** Drops every warm instance of a function (after it was updated or deleted). */
  forget(functionId: string): Promise<void> {
    for (const pool of this.#pools.values()) {
      if (pool.functionId === functionId) {
        this.#retire(pool)
      }
    }
    return Promise.resolve()
  }

  #reapIdle(): void {
    const cutoff = Date.now() - this.#o.idleTtlMs
    for (const pool of this.#pools.values()) {
      const keep: Instance[] = []
      for (const instance of pool.idle) {
        if (instance.lastUsedAt < cutoff) {
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
    const stops: Array<Promise<void>> = []
    for (const pool of this.#pools.values()) {
      for (const waiter of pool.waiters.splice(0)) {
        waiter.settle()
        waiter.reject(new StratoError('SERVICE_UNAVAILABLE', 'Strato is shutting down.'))
      }
      for (const instance of [...pool.idle, ...pool.busy]) {
        stops.push(instance.stop())
      }
    }
    await Promise.all(stops)
    this.#pools.clear()
  }
}

function errorMessageOf(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errorMessage?: unknown }
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : body.toString('utf8')
  } catch {
    return body.toString('utf8')
  }
}
