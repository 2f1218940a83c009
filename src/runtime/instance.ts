/**
 * @module One function instance: a guest runtime process serving one function revision, reached
 * over its control socket (fd 3), with its output (fd 1) attributed to invocations byte-exactly.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Pool } from 'undici'
import type { Socket } from 'node:net'
import {
  Limits,
  StratoError,
  readProcessStartTime,
  HOP_BY_HOP_HEADERS,
  type HttpRequestMeta,
  type HttpResponseMeta,
} from '../core/index.js'
import {
  FrameDecoder,
  encodeFrameHead,
  type GuestFrame,
  type HostFrame,
  type InvokeFrame,
} from './protocol.js'
import type { InstanceNetwork } from './netns-dialer.js'
import { PROCESSES, type CellPlan, type GuestPaths } from './sandbox.js'

/**
 * Lifecycle of one instance.
 * * `booting`  - spawned; the interpreter boots (raced against exit and the start deadline)
 * * `cell`     - booted, no function loaded yet: a stem cell waiting to be specialised
 * * `starting` - specialised; loading the handler and running the initializer, until `ready`
 * * `idle`     - ready, no invocation in flight
 * * `busy`     - one invocation in flight
 * * `stopping` - being killed (timeout, crash, retirement, shutdown); takes no more work
 * * `stopped`  - exited and reaped; its dir is removed; terminal
 */
export type InstanceState =
  'booting' | 'cell' | 'starting' | 'idle' | 'busy' | 'stopping' | 'stopped'

/** A failure the function's code caused; reported to the caller as the function's error. */
export class FunctionFailure extends Error {
  readonly errorType: string
  /** The log the instance produced up to the failure. */
  readonly log: string
  /** The instance's peak memory when it failed (MB); set by the instance that failed. */
  memoryUsedMb = 0

  constructor(errorType: string, message: string, log: string) {
    super(message)
    this.name = 'FunctionFailure'
    this.errorType = errorType
    this.log = log
  }

  /** `{errorMessage, errorType, stackTrace}` as FunctionGraph returns it. */
  toErrorJson(): Buffer {
    return Buffer.from(
      JSON.stringify({ errorMessage: this.message, errorType: this.errorType, stackTrace: [] }),
    )
  }
}

/** How one invocation ended inside the instance. */
export interface GuestOutcome {
  readonly ok: boolean
  /** The result (ok) or the error JSON. */
  readonly body: Buffer
  readonly text: boolean
  readonly errorType: string | undefined
  readonly memoryUsedMb: number
  readonly log: string
  /** HTTP functions: the server's status and headers (`body` is the raw response body). */
  readonly http?: HttpResponseMeta
}

export interface CellSpec {
  readonly instanceId: string
  /** The sandboxed command and what to release when the instance is gone. */
  readonly plan: CellPlan
  /** The instance's private host dir (code links, tmp, pid file); removed at stop. */
  readonly instanceDir: string
  /** For booting the interpreter, and again for loading the handler module. */
  readonly startTimeoutMs: number
}

export interface Specialisation {
  readonly env: Readonly<Record<string, string>>
  readonly memorySizeMb: number
  /** Invocations the instance may serve at once (`concurrent_num`; 1 for most runtimes). */
  readonly concurrency: number
  /** HTTP functions: how requests reach the server on port 8000 in the instance's namespace. */
  readonly network?: InstanceNetwork
  /** 0 when there is no initializer. */
  readonly initializerTimeoutMs: number
}

export interface InvokeInput {
  readonly requestId: string
  readonly payload: Buffer
  readonly timeoutMs: number
  readonly invokeType: 'sync' | 'async'
  readonly alias: string
  readonly headers: Readonly<Record<string, string>>
  readonly http?: HttpRequestMeta
}

/** Host-side cap on buffered, not yet attributed output; the guest caps each invocation too. */
const HOST_OUTPUT_CAP_BYTES = 2 * 1024 * 1024
const STDERR_TAIL_BYTES = 4096
const SYNC_RESULT_MAX_BYTES = Limits.SYNC_PAYLOAD_MAX_BYTES
/** After exit, how long to wait for the last output before judging the exit. */
const CLOSE_GRACE_MS = 200

interface OutSegment {
  readonly start: number
  readonly data: Buffer
}

interface Inflight {
  readonly id: number
  readonly requestId: string
  readonly resolve: (o: GuestOutcome) => void
  readonly reject: (e: unknown) => void
  readonly timer: NodeJS.Timeout
  readonly timeoutMs: number
  exitCode?: number
}

/**
 * Runs `fn` after the I/O that is already waiting has been read. When the event loop was held up,
 * Node runs due timers before it polls sockets: a deadline would then fire although the guest's
 * answer already sits in the socket. One poll first, and a met deadline is never judged missed.
 */
function afterPendingIo(fn: () => void): void {
  setImmediate(fn)
}

export class Instance {
  readonly id: string
  memorySizeMb = 0
  readonly #child: ChildProcess
  /** HTTP functions: kept-alive connections straight to the server on port 8000. */
  #httpPool: Pool | undefined
  #network: InstanceNetwork | undefined
  readonly #control: Socket
  readonly #decoder = new FrameDecoder()
  /** Frames waiting for this turn's flush (`#send`). */
  #outbox: Buffer[] = []
  #flushScheduled = false
  readonly #spec: CellSpec
  #initializerTimeoutMs = 0
  #state: InstanceState = 'booting'
  #nextId = 1
  /** Invocations in flight, by frame id; at most `#capacity` (`concurrent_num`). */
  readonly #inflight = new Map<number, Inflight>()
  #capacity = 1
  #claims = 0
  // Output attribution: bytes of fd 1 received, bytes handed to some log, stored segments.
  #outReceived = 0
  #outConsumed = 0
  #outBuffered = 0
  #outSegments: OutSegment[] = []
  #stderrTail = ''
  /** The last peak memory read (MB), kept for readings after the cgroup is gone. */
  #peakMemoryMb = 0
  #peakReadAt = 0
  /** Guest frames wait here until the output they follow has arrived. */
  #frameQueue: Array<{ header: GuestFrame; payload: Buffer }> = []
  /** Output of start-up (module load, initializer), prepended to the first invocation's log. */
  #startLog = ''
  #startTimer: NodeJS.Timeout | undefined
  #startSettle: { resolve: () => void; reject: (e: unknown) => void } | undefined
  #initializing = false
  #startPhase = 0
  #exited: { code: number | null; signal: NodeJS.Signals | null } | undefined
  #closed: Promise<void>
  #stopping: Promise<void> | undefined
  readonly #exitListeners: Array<(instance: Instance) => void> = []
  lastUsedAt = Date.now()

  private constructor(spec: CellSpec, child: ChildProcess) {
    this.id = spec.instanceId
    this.#spec = spec
    this.#child = child
    this.#control = child.stdio[3] as Socket
    this.#closed = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exited = { code, signal }
        // 'close' waits for every stdio stream to end; a grandchild holding fd 1 open must not
        // delay judging the exit, hence the grace timer.
        const t = setTimeout(resolve, CLOSE_GRACE_MS)
        child.once('close', () => {
          clearTimeout(t)
          resolve()
        })
      })
      child.once('error', () => resolve())
    })
    void this.#closed.then(() => this.#onClosed())
    child.stdout?.on('data', (chunk: Buffer) => this.#onOutput(chunk))
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES)
    })
    this.#control.on('data', (chunk: Buffer) => {
      try {
        for (const frame of this.#decoder.push(chunk)) {
          this.#frameQueue.push(frame)
        }
      } catch (err) {
        this.#stderrTail += `\n[strato] protocol error: ${(err as Error).message}`
        void this.stop()
        return
      }
      this.#drainFrames()
    })
    this.#control.on('error', () => undefined)
  }

  /**
   * Spawns a sandboxed guest and resolves once its interpreter has booted (a stem cell);
   * rejects with FunctionFailure or StratoError.
   */
  static async startCell(spec: CellSpec): Promise<Instance> {
    const plan = spec.plan
    const extraFds = plan.extraFiles.map((f) => fs.openSync(f, 'r'))
    let child: ChildProcess
    try {
      child = spawn(plan.command, plan.args, {
        cwd: plan.cwd,
        env: plan.env,
        stdio: ['ignore', 'pipe', 'pipe', 'pipe', ...extraFds],
        // Its own process group, so a kill reaches everything the function spawned.
        detached: true,
      })
    } catch (err) {
      await plan.release().catch(() => undefined)
      throw err
    } finally {
      for (const fd of extraFds) {
        fs.closeSync(fd)
      }
    }
    const instance = new Instance(spec, child)
    // Armed before anything is awaited: the guest's `cell` frame must find someone waiting.
    const booted = instance.#awaitStartPhase(
      () =>
        new FunctionFailure(
          'RuntimeStartTimeout',
          `The function runtime did not boot within ${spec.startTimeoutMs} ms (${instance.#startProgress()}).${instance.#stderrHint()}`,
          instance.#takeAllOutput(),
        ),
      spec.startTimeoutMs,
    )
    booted.catch(() => undefined)
    try {
      await instance.#awaitSpawn()
      await booted
    } catch (err) {
      void instance.stop()
      throw err
    }
    instance.#state = 'cell'
    return instance
  }

  /**
   * Turns a booted cell into an instance of one function: sends its environment, then waits
   * until the handler module has loaded and the initializer has run.
   */
  async specialise(s: Specialisation): Promise<void> {
    if (this.#state !== 'cell') {
      throw new StratoError('INTERNAL', `Instance ${this.id} is ${this.#state}, not a cell.`)
    }
    this.#state = 'starting'
    this.memorySizeMb = s.memorySizeMb
    this.#capacity = Math.max(1, s.concurrency)
    this.#initializerTimeoutMs = s.initializerTimeoutMs
    const ready = this.#awaitStartPhase(
      () =>
        new FunctionFailure(
          'RuntimeStartTimeout',
          `The function instance did not become ready within ${this.#spec.startTimeoutMs} ms (loading the handler module; ${this.#startProgress()}).${this.#stderrHint()}`,
          this.#takeAllOutput(),
        ),
      this.#spec.startTimeoutMs,
    )
    this.#send({ t: 'specialise', env: s.env })
    await ready
    if (s.network !== undefined) {
      await this.#connectHttp(s.network)
    }
  }

  /** The server listens (the guest said `ready`): hold its namespace and dial into it on demand. */
  async #connectHttp(network: InstanceNetwork): Promise<void> {
    const pid = this.#child.pid
    if (pid === undefined) {
      throw new StratoError('INSTANCE_START_FAILED', `Instance ${this.id} has no process.`)
    }
    this.#network = network
    await network.open(this.id, pid, readProcessStartTime(pid))
    this.#httpPool = new Pool('http://127.0.0.1:8000', {
      connections: this.#capacity,
      pipelining: 1,
      // The invocation's own deadline governs (timeouts go up to FunctionGraph's maximum).
      headersTimeout: 0,
      bodyTimeout: 0,
      // The pool asks for a connection when it has none free; the dialer makes it in the namespace.
      connect: (_options, callback) => {
        network.dial(this.id).then(
          (socket) => callback(null, socket),
          (err: Error) => callback(err, null),
        )
      },
    })
  }

  /** Applies the function's memory and CPU to the instance's cgroup (no-op without one). */
  resize(memorySizeMb: number, cpuMillicores: number): void {
    this.#spec.plan.cgroup?.apply({
      memoryBytes: memorySizeMb * 1024 * 1024,
      pids: PROCESSES,
      cpuMillicores,
    })
  }

  /** The instance's host dir; `code/` and `deps/` in it are what the guest sees at `paths`. */
  get hostDir(): string {
    return this.#spec.instanceDir
  }

  get paths(): GuestPaths {
    return this.#spec.plan.paths
  }

  /** The host uid the function runs as (undefined: Strato's own). */
  get uid(): number | undefined {
    return this.#spec.plan.uid
  }

  get state(): InstanceState {
    return this.#state
  }

  /**
   * Frames go out once per turn of the event loop, after its I/O: the invocations that requests
   * arriving together start reach the guest in one writev and one wake-up. On this kind of VM a
   * write to another process's socket costs tens of µs, more than the rest of an invocation.
   */
  #send(frame: HostFrame, payload?: Buffer): void {
    this.#outbox.push(encodeFrameHead(frame, payload?.length ?? 0))
    if (payload !== undefined && payload.length > 0) {
      this.#outbox.push(payload)
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(this.#flush)
    }
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false
    const out = this.#outbox
    this.#outbox = []
    const control = this.#control
    if (control.destroyed) {
      return
    }
    control.cork()
    for (const b of out) {
      control.write(b)
    }
    control.uncork()
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** Called once when the instance is gone, whatever the reason. */
  onExit(listener: (instance: Instance) => void): void {
    this.#exitListeners.push(listener)
  }

  async #awaitSpawn(): Promise<void> {
    const spawned = new Promise<void>((resolve, reject) => {
      this.#child.once('spawn', resolve)
      this.#child.once('error', (err) => {
        reject(
          new StratoError(
            'INSTANCE_START_FAILED',
            `The runtime '${this.#spec.plan.command}' could not be started: ${err.message}.`,
            { cause: err },
          ),
        )
      })
    })
    await spawned
    const pid = this.#child.pid
    if (pid !== undefined) {
      // The reaper of the next start finds leftovers of a crashed Strato by this file.
      await fsp.writeFile(
        path.join(this.#spec.instanceDir, 'pid'),
        `${pid} ${readProcessStartTime(pid) ?? ''}\n`,
      )
    }
  }

  /** Waits for the guest's next start milestone (`cell` or `ready`), or fails at the deadline. */
  #awaitStartPhase(onTimeout: () => FunctionFailure, ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#startSettle = { resolve, reject }
      this.#armStartTimer(ms, () => this.#failStart(onTimeout()))
    })
  }

  #armStartTimer(ms: number, onTimeout: () => void): void {
    if (this.#startTimer !== undefined) {
      clearTimeout(this.#startTimer)
    }
    // The phase this deadline belongs to: a deferred check must not fire for a later phase.
    const phase = ++this.#startPhase
    this.#startTimer = setTimeout(
      () =>
        afterPendingIo(() => {
          if (this.#startSettle !== undefined && this.#startPhase === phase) {
            onTimeout()
          }
        }),
      ms,
    )
  }

  #failStart(err: unknown, guestMemoryMb?: unknown): void {
    if (this.#startTimer !== undefined) {
      clearTimeout(this.#startTimer)
    }
    if (err instanceof FunctionFailure) {
      err.memoryUsedMb = this.#memoryUsedMb(guestMemoryMb)
    }
    const settle = this.#startSettle
    this.#startSettle = undefined
    void this.stop()
    settle?.reject(err)
  }

  /** What the host had seen of a start that missed its deadline, for diagnosing slow starts. */
  #startProgress(): string {
    return `${this.#outReceived} bytes of output and ${this.#frameQueue.length} undelivered frames received, process ${this.#exited === undefined ? 'still running' : 'exited'}`
  }

  #stderrHint(): string {
    const tail = this.#stderrTail.trim()
    return tail === '' ? '' : ` Its stderr ends with: ${tail.slice(-1000)}`
  }

  /** Invocations in flight now. */
  get inflight(): number {
    return this.#inflight.size
  }

  /** Whether another caller may claim a slot now. */
  get hasRoom(): boolean {
    return (this.#state === 'idle' || this.#state === 'busy') && this.#claims < this.#capacity
  }

  /**
   * Takes one of the instance's `concurrent_num` slots for an invocation about to be sent: the
   * scheduler claims when it hands the instance out and unclaims when the invocation is over, so
   * two requests acquired in the same tick never overbook it.
   */
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

  /** Slots claimed and not yet given back. */
  get claimed(): number {
    return this.#claims
  }

  /** Sends one invocation; the instance must be idle, or busy below its concurrency. */
  invoke(input: InvokeInput): Promise<GuestOutcome> {
    if (
      (this.#state !== 'idle' && this.#state !== 'busy') ||
      this.#inflight.size >= this.#capacity
    ) {
      return Promise.reject(
        new StratoError(
          'INTERNAL',
          `Instance ${this.id} is ${this.#state} with ${this.#inflight.size} of ${this.#capacity} invocations in flight.`,
        ),
      )
    }
    this.#state = 'busy'
    const id = this.#nextId++
    if (input.http !== undefined) {
      if (this.#httpPool === undefined) {
        this.#state = this.#inflight.size === 0 ? 'idle' : 'busy'
        return Promise.reject(
          new StratoError('INTERNAL', `Instance ${this.id} is not an HTTP function's instance.`),
        )
      }
      return this.#forwardHttp(id, input, input.http, this.#httpPool)
    }
    const frame: InvokeFrame = {
      t: 'invoke',
      id,
      requestId: input.requestId,
      deadline: Date.now() + input.timeoutMs,
      invokeType: input.invokeType,
      alias: input.alias,
      headers: input.headers,
    }
    return new Promise<GuestOutcome>((resolve, reject) => {
      this.#track(id, input, resolve, reject)
      this.#send(frame, input.payload)
    })
  }

  /** Puts an invocation in flight under its id, with its deadline armed. */
  #track(
    id: number,
    input: InvokeInput,
    resolve: (o: GuestOutcome) => void,
    reject: (e: unknown) => void,
  ): void {
    const timer = setTimeout(() => afterPendingIo(() => this.#onTimeout(id)), input.timeoutMs)
    this.#inflight.set(id, {
      id,
      requestId: input.requestId,
      resolve,
      reject,
      timer,
      timeoutMs: input.timeoutMs,
    })
  }

  /**
   * An HTTP function's request, sent to the function's server over a connection made inside the
   * instance's network namespace: parsed here and by the server, nothing in between. Deadlines and
   * deaths are judged as for frames (the request is in `#inflight` under its id).
   */
  #forwardHttp(
    id: number,
    input: InvokeInput,
    request: HttpRequestMeta,
    pool: Pool,
  ): Promise<GuestOutcome> {
    return new Promise<GuestOutcome>((resolve, reject) => {
      this.#track(id, input, resolve, reject)
      // Flat name/value pairs keep repeated headers; Strato's x-cff-* replace any the caller sent,
      // and undici sets content-length from the body.
      const headers: string[] = []
      for (const [k, v] of Object.entries(request.headers)) {
        const lower = k.toLowerCase()
        if (!HOP_BY_HOP_HEADERS.has(lower) && !Object.hasOwn(input.headers, lower)) {
          if (typeof v === 'string') {
            headers.push(k, v)
          } else {
            for (const one of v) {
              headers.push(k, one)
            }
          }
        }
      }
      for (const [k, v] of Object.entries(input.headers)) {
        headers.push(k, v)
      }
      const parts: Buffer[] = []
      let size = 0
      let statusCode = 502
      let raw: Buffer[] = []
      let abort: ((err?: Error) => void) | undefined
      pool.dispatch(
        {
          method: request.method,
          path: request.query === '' ? request.path : `${request.path}?${request.query}`,
          headers,
          body: input.payload,
        },
        {
          onConnect: (a: (err?: Error) => void) => {
            abort = a
          },
          onHeaders: (status: number, rawHeaders: Buffer[]) => {
            statusCode = status
            raw = rawHeaders
            return true
          },
          onData: (chunk: Buffer) => {
            size += chunk.length
            if (size > SYNC_RESULT_MAX_BYTES) {
              // Judged first: aborting reports an error of its own, which then finds nothing.
              this.#httpFailed(
                id,
                'ResponseTooLarge',
                `The function's HTTP response body is over ${SYNC_RESULT_MAX_BYTES} bytes.`,
              )
              abort?.()
              return false
            }
            parts.push(chunk)
            return true
          },
          onComplete: () => {
            this.#httpAnswered(id, {
              statusCode,
              headers: wrappedHeadersOf(raw),
              body: parts.length === 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts, size),
            })
          },
          onError: (err: Error) =>
            this.#httpFailed(
              id,
              'FunctionServerError',
              raw.length === 0
                ? `The function's server did not answer on port 8000: ${err.message}.`
                : `The function's server broke off its response: ${err.message}.`,
            ),
        },
      )
    })
  }

  #httpAnswered(
    id: number,
    r: { statusCode: number; headers: Record<string, string[]>; body: Buffer },
  ): void {
    const inflight = this.#inflight.get(id)
    if (inflight === undefined) {
      return // it timed out, or the instance died, first
    }
    this.#inflight.delete(id)
    clearTimeout(inflight.timer)
    // The server's output reaches fd 1 through the guest, not in step with the response: the log
    // gets what has arrived by now.
    const log = this.#withStartLog(this.#takeAllOutput())
    if (this.#state === 'busy' && this.#inflight.size === 0) {
      this.#state = 'idle'
    }
    this.lastUsedAt = Date.now()
    inflight.resolve({
      ok: true,
      body: r.body,
      text: false,
      errorType: undefined,
      memoryUsedMb: this.#recentMemoryUsedMb(),
      log,
      http: { statusCode: r.statusCode, headers: r.headers },
    })
  }

  #httpFailed(id: number, errorType: string, message: string): void {
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      return // the instance died under the request: #onClosed says why
    }
    const inflight = this.#inflight.get(id)
    if (inflight === undefined) {
      return
    }
    this.#inflight.delete(id)
    clearTimeout(inflight.timer)
    const log = this.#withStartLog(this.#takeAllOutput())
    if (this.#state === 'busy' && this.#inflight.size === 0) {
      this.#state = 'idle'
    }
    inflight.resolve(this.#failureOutcome(new FunctionFailure(errorType, message, log)))
  }

  #onTimeout(id: number): void {
    const inflight = this.#inflight.get(id)
    if (inflight === undefined) {
      return // it answered in time (its result was waiting in the socket)
    }
    this.#inflight.delete(id)
    const seconds = inflight.timeoutMs / 1000
    const log = this.#withStartLog(this.#takeAllOutput())
    const exhausted = this.#processLimitFailure(log)
    void this.stop()
    inflight.resolve(
      this.#failureOutcome(
        exhausted ??
          new FunctionFailure(
            'TimeoutError',
            `Invoke function timeout: the function ran longer than its timeout of ${seconds} s and was stopped.`,
            log,
          ),
      ),
    )
  }

  /**
   * When the instance hit its process limit (a fork bomb, a thread leak), that is what the caller
   * hears, whatever the function did next; the instance is spent and gets replaced.
   */
  #processLimitFailure(log: string): FunctionFailure | undefined {
    const events = this.#spec.plan.cgroup?.events()
    if (events === undefined || events.pidsLimitHits === 0) {
      return undefined
    }
    return new FunctionFailure(
      'ProcessLimitExceeded',
      `The function reached the limit of ${PROCESSES} processes and threads per instance; its instance was stopped.`,
      log,
    )
  }

  #outOfMemory(): boolean {
    if ((this.#spec.plan.cgroup?.events().oomKills ?? 0) > 0) {
      return true
    }
    return /heap out of memory|Allocation failed|MemoryError|Cannot allocate memory|std::bad_alloc/i.test(
      this.#stderrTail,
    )
  }

  /**
   * Memory used where the guest reports none (HTTP functions, failed starts, deaths, timeouts): the
   * instance cgroup's peak, which counts every process of the instance; without a cgroup (below
   * the bubblewrap and unshare levels) what the guest reported, if anything.
   */
  #memoryUsedMb(guestMb?: unknown): number {
    const peak = this.#spec.plan.cgroup?.peakMemoryMb() ?? 0
    if (peak > 0) {
      this.#peakMemoryMb = peak
    } else if (typeof guestMb === 'number' && Number.isFinite(guestMb) && guestMb > 0) {
      this.#peakMemoryMb = guestMb
    }
    return this.#peakMemoryMb
  }

  /**
   * The peak for a warm HTTP response: read from the cgroup at most once a second, so a busy
   * instance does not pay three syscalls per request for a figure that only ever grows.
   */
  #recentMemoryUsedMb(): number {
    const now = performance.now()
    if (now - this.#peakReadAt >= 1000 || this.#peakMemoryMb === 0) {
      this.#peakReadAt = now
      return this.#memoryUsedMb()
    }
    return this.#peakMemoryMb
  }

  #failureOutcome(f: FunctionFailure): GuestOutcome {
    return {
      ok: false,
      body: f.toErrorJson(),
      text: false,
      errorType: f.errorType,
      memoryUsedMb: f.memoryUsedMb > 0 ? f.memoryUsedMb : this.#memoryUsedMb(),
      log: f.log,
    }
  }

  #onOutput(chunk: Buffer): void {
    const start = this.#outReceived
    this.#outReceived += chunk.length
    if (this.#outBuffered + chunk.length <= HOST_OUTPUT_CAP_BYTES) {
      this.#outSegments.push({ start, data: chunk })
      this.#outBuffered += chunk.length
    }
    this.#drainFrames()
  }

  /** The output from the last attribution point up to absolute byte `end`. */
  #takeOutput(end: number): string {
    const parts: Buffer[] = []
    let kept = 0
    const rest: OutSegment[] = []
    for (const seg of this.#outSegments) {
      const segEnd = seg.start + seg.data.length
      if (segEnd <= end) {
        parts.push(seg.data)
        kept += seg.data.length
      } else if (seg.start < end) {
        const cut = end - seg.start
        parts.push(seg.data.subarray(0, cut))
        kept += cut
        rest.push({ start: end, data: seg.data.subarray(cut) })
      } else {
        rest.push(seg)
      }
    }
    this.#outSegments = rest
    this.#outBuffered = rest.reduce((n, s) => n + s.data.length, 0)
    const dropped = Math.max(0, end - this.#outConsumed - kept)
    this.#outConsumed = Math.max(this.#outConsumed, end)
    const text = Buffer.concat(parts).toString('utf8')
    return dropped > 0 ? `${text}\n[strato: ${dropped} bytes of output dropped]\n` : text
  }

  #takeAllOutput(): string {
    return this.#takeOutput(this.#outReceived)
  }

  #withStartLog(log: string): string {
    if (this.#startLog === '') {
      return log
    }
    const all = this.#startLog + log
    this.#startLog = ''
    return all
  }

  #drainFrames(): void {
    while (this.#frameQueue.length > 0) {
      const next = this.#frameQueue[0]
      if (next === undefined || next.header.out > this.#outReceived) {
        return // its output is still in the pipe
      }
      this.#frameQueue.shift()
      this.#handleFrame(next.header, next.payload)
    }
  }

  #handleFrame(header: GuestFrame, payload: Buffer): void {
    switch (header.t) {
      case 'cell': {
        if (this.#startTimer !== undefined) {
          clearTimeout(this.#startTimer)
        }
        const settle = this.#startSettle
        this.#startSettle = undefined
        settle?.resolve()
        return
      }
      case 'initializing':
        this.#initializing = true
        this.#armStartTimer(this.#initializerTimeoutMs, () =>
          this.#failStart(
            new FunctionFailure(
              'InitializerTimeout',
              `The initializer ran longer than its timeout of ${this.#initializerTimeoutMs / 1000} s.`,
              this.#takeAllOutput(),
            ),
          ),
        )
        return
      case 'ready': {
        if (this.#startTimer !== undefined) {
          clearTimeout(this.#startTimer)
        }
        this.#startLog = this.#takeOutput(header.out)
        this.#state = 'idle'
        const settle = this.#startSettle
        this.#startSettle = undefined
        settle?.resolve()
        return
      }
      case 'init-error': {
        let message = 'The function failed to initialise.'
        try {
          message =
            (JSON.parse(payload.toString('utf8')) as { errorMessage?: string }).errorMessage ??
            message
        } catch {
          // keep the generic message
        }
        const phase = this.#initializing ? 'initializer' : 'handler module'
        this.#failStart(
          new InitFailure(header.errorType, message, this.#takeOutput(header.out), payload, phase),
          header.mem,
        )
        return
      }
      case 'result': {
        const inflight = this.#inflight.get(header.id)
        if (inflight === undefined) {
          return // the invocation already ended (timeout); its late result is dropped
        }
        this.#inflight.delete(header.id)
        clearTimeout(inflight.timer)
        // With several invocations in flight their output interleaves: each result takes what
        // arrived before it.
        const log = this.#withStartLog(this.#takeOutput(header.out))
        if (this.#state === 'busy' && this.#inflight.size === 0) {
          this.#state = 'idle'
        }
        this.lastUsedAt = Date.now()
        if (header.badEvent === true) {
          inflight.reject(
            new StratoError(
              'INVALID_EVENT',
              `The invocation body is not valid JSON: ${header.message ?? 'parse error'}.`,
            ),
          )
          return
        }
        if (header.ok === true && payload.length > SYNC_RESULT_MAX_BYTES) {
          // The guest checks this too, but the guest runs untrusted code.
          inflight.resolve(
            this.#failureOutcome(
              new FunctionFailure(
                'ResponseTooLarge',
                `The function result is ${payload.length} bytes; the limit is ${SYNC_RESULT_MAX_BYTES}.`,
                log,
              ),
            ),
          )
          return
        }
        if (header.ok !== true) {
          const exhausted =
            header.fdsExhausted === true
              ? new FunctionFailure(
                  'TooManyOpenFiles',
                  `The function reached the limit of open files per instance; its instance was stopped. ${errorMessageOf(payload)}`,
                  log,
                )
              : this.#processLimitFailure(log)
          if (exhausted !== undefined) {
            void this.stop()
            inflight.resolve(this.#failureOutcome(exhausted))
            return
          }
        }
        inflight.resolve({
          ok: header.ok === true,
          body: payload,
          text: header.text === true,
          errorType: header.errorType,
          memoryUsedMb: typeof header.mem === 'number' ? header.mem : 0,
          log,
        })
        return
      }
      case 'exit': {
        const inflight = this.#inflight.get(header.id)
        if (inflight !== undefined) {
          inflight.exitCode = header.code
        }
        return
      }
      default: {
        const never: never = header
        throw new StratoError('INTERNAL', `Unknown guest frame ${JSON.stringify(never)}`)
      }
    }
  }

  /** Judges why the process ended and fails whatever was waiting on it. */
  #onClosed(): void {
    this.#drainFrames()
    const exit = this.#exited
    const how =
      exit === undefined
        ? 'could not be started'
        : exit.signal !== null
          ? `was killed by ${exit.signal}`
          : `exited with code ${exit.code}${signalOfExitCode(exit.code)}`
    const oom = this.#outOfMemory()
    const wasStopping = this.#state === 'stopping'
    this.#state = 'stopped'
    if (this.#startSettle !== undefined) {
      this.#failStart(
        new FunctionFailure(
          oom ? 'OutOfMemoryError' : 'RuntimeStartFailed',
          oom
            ? `The function instance ran out of memory while starting (memory_size ${this.memorySizeMb} MB).`
            : `The function instance ${how} before it became ready.${this.#stderrHint()}`,
          this.#takeAllOutput(),
        ),
      )
    }
    for (const inflight of [...this.#inflight.values()]) {
      this.#inflight.delete(inflight.id)
      clearTimeout(inflight.timer)
      const log = this.#withStartLog(this.#takeAllOutput())
      // A fork bomb usually runs the instance out of memory too; the process limit is the cause.
      const failure =
        this.#processLimitFailure(log) ??
        (oom
          ? new FunctionFailure(
              'OutOfMemoryError',
              `The function ran out of memory (memory_size ${this.memorySizeMb} MB); its instance was stopped.`,
              log,
            )
          : inflight.exitCode !== undefined
            ? new FunctionFailure(
                'RuntimeExitError',
                `The function ended its own process (exit code ${inflight.exitCode}) during the invocation; its instance was replaced.`,
                log,
              )
            : new FunctionFailure(
                'RuntimeExitError',
                `The function instance ${how} during the invocation${wasStopping ? ' (it was being stopped)' : ''}.${this.#stderrHint()}`,
                log,
              ))
      inflight.resolve(this.#failureOutcome(failure))
    }
    for (const listener of this.#exitListeners) {
      listener(this)
    }
    void this.stop()
  }

  /** Kills the instance's whole process group and removes its dir. Idempotent. */
  stop(): Promise<void> {
    if (this.#stopping !== undefined) {
      return this.#stopping
    }
    if (this.#state !== 'stopped') {
      this.#state = 'stopping'
    }
    // The last reading of the cgroup's peak, for failures judged after it is gone.
    this.#memoryUsedMb()
    this.#stopping = (async () => {
      const pid = this.#child.pid
      if (pid !== undefined) {
        try {
          process.kill(-pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      this.#control.destroy()
      void this.#httpPool?.destroy().catch(() => undefined)
      this.#network?.close(this.id)
      // The cgroup holds every process of the instance, whatever session or group it moved to.
      await this.#spec.plan.release().catch(() => undefined)
      await this.#closed
      await fsp.rm(this.#spec.instanceDir, { recursive: true, force: true }).catch(() => undefined)
    })()
    return this.#stopping
  }
}

const SIGNAL_NAMES = new Map(
  Object.entries(os.constants.signals)
    .reverse()
    .map(([name, n]) => [n, name]),
)

/** A sandbox wrapper (bwrap, unshare) reports a child killed by signal N as exit code 128 + N. */
function signalOfExitCode(code: number | null): string {
  const name = code !== null && code > 128 ? SIGNAL_NAMES.get(code - 128) : undefined
  return name === undefined ? '' : ` (${name})`
}

/**
 * The server's response headers for the wrapped response: each name as the server first spelt it,
 * with the values of every spelling in order (`Content-type` stays `Content-type`; `X-A` and
 * `x-a` become one). Framing and hop-by-hop headers stay behind, and so do the ones the server's
 * `Connection` names (RFC 9110 §7.6.1); `Content-Length` is kept, as FunctionGraph shows it.
 */
function wrappedHeadersOf(raw: readonly Buffer[]): Record<string, string[]> {
  const pairs: Array<[string, string, string]> = []
  const dropped = new Set<string>()
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1')
    const value = (raw[i + 1] as Buffer).toString('latin1')
    const lower = name.toLowerCase()
    if (lower === 'connection') {
      for (const listed of value.split(',')) {
        dropped.add(listed.trim().toLowerCase())
      }
    }
    pairs.push([name, lower, value])
  }
  // No prototype: a server may send a header named `__proto__`.
  const out = Object.create(null) as Record<string, string[]>
  const spelling = new Map<string, string>()
  for (const [name, lower, value] of pairs) {
    if (lower !== 'content-length' && (HOP_BY_HOP_HEADERS.has(lower) || dropped.has(lower))) {
      continue
    }
    let key = spelling.get(lower)
    if (key === undefined) {
      key = name
      spelling.set(lower, key)
    }
    ;(out[key] ??= []).push(value)
  }
  return out
}

function errorMessageOf(errorJson: Buffer): string {
  try {
    const parsed = JSON.parse(errorJson.toString('utf8')) as { errorMessage?: unknown }
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : ''
  } catch {
    return ''
  }
}

/** A failure while loading the handler module or running the initializer: the guest's error JSON. */
export class InitFailure extends FunctionFailure {
  readonly errorJson: Buffer
  readonly phase: string

  constructor(errorType: string, message: string, log: string, errorJson: Buffer, phase: string) {
    super(errorType, message, log)
    this.errorJson = errorJson
    this.phase = phase
  }

  override toErrorJson(): Buffer {
    return this.errorJson
  }
}
