/**
 * Fakes of the slices the scheduler and the async dispatcher depend on (`PooledInstance`,
 * `Launcher`, core's `Invoker` and `CallerPresence`), for their unit tests: they behave as the
 * real ones do as seen from the pool and the dispatcher, without processes.
 */
import {
  StratoError,
  type CallerPresence,
  type FunctionRecord,
  type InvocationRecord,
  type InvocationRequest,
  type InvocationResult,
  type Invoker,
} from '../../src/core/index.js'
import type {
  GuestOutcome,
  InstanceState,
  InvokeInput,
  LaunchRequest,
} from '../../src/runtime/index.js'
import type { Launcher, PooledInstance } from '../../src/scheduler/index.js'

/** A function record of a Node.js function with FunctionGraph's defaults; `over` changes fields. */
export function functionRecordOf(over: Partial<FunctionRecord> = {}): FunctionRecord {
  return {
    id: 'f1',
    projectId: 'p1',
    packageName: 'default',
    name: 'hello',
    codeType: 'zip',
    codeFilename: 'code.zip',
    codeSize: 1,
    digest: 'd1',
    revision: 1,
    version: 'latest',
    createdAt: new Date(0),
    lastModified: new Date(0),
    runtime: 'Node.js20.15',
    handler: 'index.handler',
    memorySizeMb: 128,
    timeoutS: 3,
    userData: '',
    encryptedUserData: '',
    description: '',
    initializerHandler: '',
    initializerTimeoutS: 0,
    dependVersionList: [],
    maxInstances: -1,
    concurrentNum: 1,
    extra: {},
    ...over,
  }
}

export function okOutcome(requestId: string): GuestOutcome {
  return {
    ok: true,
    body: Buffer.from(JSON.stringify(requestId)),
    text: false,
    errorType: undefined,
    memoryUsedMb: 10,
    log: `log of ${requestId}`,
  }
}

/** Behaves like runtime's Instance as the pool sees it: slots, states, exit listeners. */
export class FakeInstance implements PooledInstance {
  state: InstanceState = 'idle'
  lastUsedAt = Date.now()
  readonly served: string[] = []
  readonly #capacity: number
  #claims = 0
  readonly #inflight = new Map<string, (outcome: GuestOutcome) => void>()
  readonly #exitListeners: Array<() => void> = []
  #stopping: Promise<void> | undefined

  constructor(
    readonly request: LaunchRequest,
    readonly id: number,
  ) {
    this.#capacity = request.family === 'python' ? 1 : request.concurrency
  }

  get hasRoom(): boolean {
    return (this.state === 'idle' || this.state === 'busy') && this.#claims < this.#capacity
  }

  get claimed(): number {
    return this.#claims
  }

  claim(): boolean {
    if (!this.hasRoom) {
      return false
    }
    this.#claims++
    return true
  }

  unclaim(): void {
    this.#claims = Math.max(0, this.#claims - 1)
  }

  invoke(input: InvokeInput): Promise<GuestOutcome> {
    if (this.state !== 'idle' && this.state !== 'busy') {
      return Promise.reject(new StratoError('INTERNAL', `fake instance is ${this.state}`))
    }
    this.state = 'busy'
    this.served.push(input.requestId)
    return new Promise((resolve) => this.#inflight.set(input.requestId, resolve))
  }

  inFlight(requestId: string): boolean {
    return this.#inflight.has(requestId)
  }

  /** The guest answers `requestId`. */
  finish(requestId: string, outcome: GuestOutcome = okOutcome(requestId)): void {
    const resolve = this.#inflight.get(requestId)
    if (resolve === undefined) {
      throw new Error(`instance ${this.id} does not run ${requestId}`)
    }
    this.#inflight.delete(requestId)
    if (this.state === 'busy' && this.#inflight.size === 0) {
      this.state = 'idle'
    }
    this.lastUsedAt = Date.now()
    resolve(outcome)
  }

  /** The process dies: what is in flight fails, the exit listeners run. */
  crash(): void {
    if (this.state === 'stopped') {
      return
    }
    this.state = 'stopped'
    for (const [requestId, resolve] of this.#inflight) {
      resolve({
        ok: false,
        body: Buffer.from(
          JSON.stringify({ errorMessage: 'killed', errorType: 'RuntimeExitError' }),
        ),
        text: false,
        errorType: 'RuntimeExitError',
        memoryUsedMb: 0,
        log: `log of ${requestId}`,
      })
    }
    this.#inflight.clear()
    for (const listener of this.#exitListeners) {
      listener()
    }
  }

  get stopped(): boolean {
    return this.#stopping !== undefined || this.state === 'stopped'
  }

  stop(): Promise<void> {
    if (this.#stopping === undefined) {
      if (this.state !== 'stopped') {
        this.state = 'stopping'
      }
      this.#stopping = Promise.resolve().then(() => this.crash())
    }
    return this.#stopping
  }

  onExit(listener: () => void): void {
    this.#exitListeners.push(listener)
  }
}

export interface PendingStart {
  readonly instance: FakeInstance
  readonly start: () => void
  readonly fail: (err: Error) => void
}

/** Starts fake instances at once, or (`manual`) when the test says so. */
export class FakeLauncher implements Launcher {
  readonly instances: FakeInstance[] = []
  readonly pending: PendingStart[] = []
  manual = false
  nextFailure: Error | undefined = undefined

  launch(request: LaunchRequest): Promise<FakeInstance> {
    if (this.nextFailure !== undefined) {
      const err = this.nextFailure
      this.nextFailure = undefined
      return Promise.reject(err)
    }
    const instance = new FakeInstance(request, this.instances.length + 1)
    this.instances.push(instance)
    if (!this.manual) {
      return Promise.resolve(instance)
    }
    return new Promise((resolve, reject) =>
      this.pending.push({ instance, start: () => resolve(instance), fail: reject }),
    )
  }

  /** The instance that has `requestId` in flight. */
  serving(requestId: string): FakeInstance {
    const found = this.instances.find((i) => i.inFlight(requestId))
    if (found === undefined) {
      throw new Error(`no instance runs ${requestId}`)
    }
    return found
  }
}

/** A caller the test makes go away. */
export function presence(): { caller: CallerPresence; leave: () => void; watchers: () => number } {
  let gone = false
  const listeners = new Set<() => void>()
  return {
    caller: {
      gone: () => gone,
      onGone: (listener) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
    },
    leave: () => {
      gone = true
      for (const listener of [...listeners]) {
        listener()
      }
    },
    watchers: () => listeners.size,
  }
}

/** Tracks how a promise ended without awaiting it. */
export function track<T>(p: Promise<T>): { value?: T; error?: unknown; settled: boolean } {
  const state: { value?: T; error?: unknown; settled: boolean } = { settled: false }
  p.then(
    (value) => Object.assign(state, { value, settled: true }),
    (error: unknown) => Object.assign(state, { error, settled: true }),
  )
  return state
}

export function resultOf(
  requestId: string,
  kind: InvocationResult['kind'],
  errorType?: string,
  errorMessage?: string,
): InvocationResult {
  const record: InvocationRecord = {
    requestId,
    attempt: 1,
    version: 'latest',
    startedAtMs: Date.now(),
    durationMs: 1,
    billedDurationMs: 1,
    memorySizeMb: 128,
    memoryUsedMb: 1,
    errorType,
    errorMessage,
    output: '',
  }
  const body = kind === 'success' ? '"done"' : JSON.stringify({ errorMessage, errorType })
  return { kind, body: Buffer.from(body), bodyIsText: false, record }
}

export interface Call {
  readonly request: InvocationRequest
  readonly resolve: (result: InvocationResult) => void
  readonly reject: (err: Error) => void
}

/** Holds every invocation until the test answers it; a caller that goes away leaves, as in the pool. */
export class FakeInvoker implements Invoker {
  readonly calls: Call[] = []
  readonly running = new Set<Call>()

  invoke(request: InvocationRequest): Promise<InvocationResult> {
    return new Promise((resolve, reject) => {
      const call: Call = {
        request,
        resolve: (r) => {
          this.running.delete(call)
          resolve(r)
        },
        reject: (e) => {
          this.running.delete(call)
          reject(e)
        },
      }
      this.calls.push(call)
      this.running.add(call)
      request.caller?.onGone(() =>
        call.reject(new StratoError('CLIENT_CLOSED', 'The caller went away while it waited.')),
      )
    })
  }

  forget(): Promise<void> {
    return Promise.resolve()
  }

  runningOf(functionId: string): Call[] {
    return [...this.running].filter((c) => c.request.fn.id === functionId)
  }

  call(requestId: string, attempt = 1): Call {
    const found = this.calls.find(
      (c) => c.request.requestId === requestId && c.request.attempt === attempt,
    )
    if (found === undefined) {
      throw new Error(`no attempt ${attempt} of ${requestId}`)
    }
    return found
  }
}
