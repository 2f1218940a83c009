/**
 * @module One function instance: a guest runtime process serving one function revision, reached
 * over its control socket (fd 3), with its output (fd 1) attributed to invocations byte-exactly.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { Socket } from 'node:net'
import { Limits, StratoError, readProcessStartTime } from '../core/index.js'
import { FrameDecoder, encodeFrameHead, type GuestFrame, type InvokeFrame } from './protocol.js'
import type { SandboxedCommand } from './sandbox.js'

/**
 * Lifecycle of one instance.
 * * `starting` - spawned; waiting for `ready` (raced against exit and the start deadlines)
 * * `idle`     - ready, no invocation in flight
 * * `busy`     - one invocation in flight
 * * `stopping` - being killed (timeout, crash, retirement, shutdown); takes no more work
 * * `stopped`  - exited and reaped; its dir is removed; terminal
 */
export type InstanceState = 'starting' | 'idle' | 'busy' | 'stopping' | 'stopped'

/** A failure the function's code caused; reported to the caller as the function's error. */
export class FunctionFailure extends Error {
  readonly errorType: string
  /** The log the instance produced up to the failure. */
  readonly log: string

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
}

export interface InstanceSpec {
  readonly instanceId: string
  readonly command: SandboxedCommand
  readonly cwd: string
  readonly env: Readonly<Record<string, string>>
  /** Where the instance's private dir (tmp, pid file) lives; removed at stop. */
  readonly instanceDir: string
  readonly startTimeoutMs: number
  /** 0 when there is no initializer. */
  readonly initializerTimeoutMs: number
  readonly memorySizeMb: number
}

export interface InvokeInput {
  readonly requestId: string
  readonly payload: Buffer
  readonly timeoutMs: number
  readonly invokeType: 'sync' | 'async'
  readonly alias: string
  readonly headers: Readonly<Record<string, string>>
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
  readonly memorySizeMb: number
  readonly #child: ChildProcess
  readonly #control: Socket
  readonly #decoder = new FrameDecoder()
  readonly #spec: InstanceSpec
  #state: InstanceState = 'starting'
  #nextId = 1
  #inflight: Inflight | undefined
  // Output attribution: bytes of fd 1 received, bytes handed to some log, stored segments.
  #outReceived = 0
  #outConsumed = 0
  #outBuffered = 0
  #outSegments: OutSegment[] = []
  #stderrTail = ''
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

  private constructor(spec: InstanceSpec, child: ChildProcess) {
    this.id = spec.instanceId
    this.memorySizeMb = spec.memorySizeMb
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

  /** Spawns the instance and resolves once it is ready; rejects with FunctionFailure or StratoError. */
  static async start(spec: InstanceSpec): Promise<Instance> {
    await fsp.mkdir(path.join(spec.instanceDir, 'tmp'), { recursive: true, mode: 0o700 })
    const child = spawn(spec.command.command, spec.command.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      // Its own process group, so a kill reaches everything the function spawned.
      detached: true,
    })
    const instance = new Instance(spec, child)
    return instance.#awaitReady()
  }

  get state(): InstanceState {
    return this.#state
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** Called once when the instance is gone, whatever the reason. */
  onExit(listener: (instance: Instance) => void): void {
    this.#exitListeners.push(listener)
  }

  async #awaitReady(): Promise<Instance> {
    const spawned = new Promise<void>((resolve, reject) => {
      this.#child.once('spawn', resolve)
      this.#child.once('error', (err) => {
        reject(
          new StratoError(
            'INSTANCE_START_FAILED',
            `The runtime '${this.#spec.command.command}' could not be started: ${err.message}.`,
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
    await new Promise<void>((resolve, reject) => {
      this.#startSettle = { resolve, reject }
      this.#armStartTimer(this.#spec.startTimeoutMs, () =>
        this.#failStart(
          new FunctionFailure(
            'RuntimeStartTimeout',
            `The function instance did not become ready within ${this.#spec.startTimeoutMs} ms (loading the runtime and the handler module; ${this.#startProgress()}).${this.#stderrHint()}`,
            this.#takeAllOutput(),
          ),
        ),
      )
    })
    return this
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

  #failStart(err: unknown): void {
    if (this.#startTimer !== undefined) {
      clearTimeout(this.#startTimer)
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

  /** Sends one invocation; the instance must be idle. */
  invoke(input: InvokeInput): Promise<GuestOutcome> {
    if (this.#state !== 'idle') {
      return Promise.reject(
        new StratoError('INTERNAL', `Instance ${this.id} is ${this.#state}, not idle.`),
      )
    }
    this.#state = 'busy'
    const id = this.#nextId++
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
      const timer = setTimeout(() => afterPendingIo(() => this.#onTimeout(id)), input.timeoutMs)
      this.#inflight = {
        id,
        requestId: input.requestId,
        resolve,
        reject,
        timer,
        timeoutMs: input.timeoutMs,
      }
      const control = this.#control
      control.cork()
      control.write(encodeFrameHead(frame, input.payload.length))
      if (input.payload.length > 0) {
        control.write(input.payload)
      }
      control.uncork()
    })
  }

  #onTimeout(id: number): void {
    const inflight = this.#inflight
    if (inflight === undefined || inflight.id !== id) {
      return // it answered in time (its result was waiting in the socket), or a later one runs
    }
    this.#inflight = undefined
    const seconds = inflight.timeoutMs / 1000
    const log = this.#withStartLog(this.#takeAllOutput())
    void this.stop()
    inflight.resolve(
      this.#failureOutcome(
        new FunctionFailure(
          'TimeoutError',
          `Invoke function timeout: the function ran longer than its timeout of ${seconds} s and was stopped.`,
          log,
        ),
      ),
    )
  }

  #failureOutcome(f: FunctionFailure): GuestOutcome {
    return {
      ok: false,
      body: f.toErrorJson(),
      text: false,
      errorType: f.errorType,
      memoryUsedMb: 0,
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
      case 'initializing':
        this.#initializing = true
        this.#armStartTimer(this.#spec.initializerTimeoutMs, () =>
          this.#failStart(
            new FunctionFailure(
              'InitializerTimeout',
              `The initializer ran longer than its timeout of ${this.#spec.initializerTimeoutMs / 1000} s.`,
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
        )
        return
      }
      case 'result': {
        const inflight = this.#inflight
        if (inflight === undefined || inflight.id !== header.id) {
          return // the invocation already ended (timeout); its late result is dropped
        }
        this.#inflight = undefined
        clearTimeout(inflight.timer)
        const log = this.#withStartLog(this.#takeOutput(header.out))
        if (this.#state === 'busy') {
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
        inflight.resolve({
          ok: header.ok === true,
          body: payload,
          text: header.text === true,
          errorType: header.errorType,
          memoryUsedMb: header.mem ?? 0,
          log,
        })
        return
      }
      case 'exit':
        if (this.#inflight !== undefined && this.#inflight.id === header.id) {
          this.#inflight.exitCode = header.code
        }
        return
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
          : `exited with code ${exit.code}`
    const oom =
      /heap out of memory|Allocation failed|MemoryError|Cannot allocate memory|std::bad_alloc/i.test(
        this.#stderrTail,
      )
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
    const inflight = this.#inflight
    if (inflight !== undefined) {
      this.#inflight = undefined
      clearTimeout(inflight.timer)
      const log = this.#withStartLog(this.#takeAllOutput())
      let failure: FunctionFailure
      if (oom) {
        failure = new FunctionFailure(
          'OutOfMemoryError',
          `The function ran out of memory (memory_size ${this.memorySizeMb} MB); its instance was stopped.`,
          log,
        )
      } else if (inflight.exitCode !== undefined) {
        failure = new FunctionFailure(
          'RuntimeExitError',
          `The function ended its own process (exit code ${inflight.exitCode}) during the invocation; its instance was replaced.`,
          log,
        )
      } else {
        failure = new FunctionFailure(
          'RuntimeExitError',
          `The function instance ${how} during the invocation${wasStopping ? ' (it was being stopped)' : ''}.${this.#stderrHint()}`,
          log,
        )
      }
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
      await this.#closed
      await fsp.rm(this.#spec.instanceDir, { recursive: true, force: true }).catch(() => undefined)
    })()
    return this.#stopping
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
