/**
 * @module One function instance: a guest runtime process serving one function revision. It owns
 * the process, the life cycle (one state machine, `instance-state.ts`), the start milestones, the
 * slots and the invocations in flight with their deadlines; its fd 1 output goes through an
 * `OutputLedger`, its life-cycle frames through the `ControlChannel` (fd 3), its invocations through
 * the `GuestTransport` its family speaks, and its failures are judged by `death-classifier.ts`.
 */
import type { ChildProcess } from 'node:child_process'
import fsp from 'node:fs/promises'
import type { Socket } from 'node:net'
import { StratoError, type FunctionEgress } from '../core/index.js'
import { ControlChannel } from './control-channel.js'
import {
  initializerTimeoutVerdict,
  invocationDeathVerdict,
  startDeathVerdict,
  startTimeoutVerdict,
  timeoutVerdict,
  type ExitStatus,
  type InstanceEvidence,
} from './death-classifier.js'
import {
  FunctionFailure,
  InitFailure,
  type GuestOutcome,
  type InvokeInput,
} from './guest-outcome.js'
import {
  transportFor,
  type GuestTransport,
  type Invocation,
  type TransportHost,
  type TransportKind,
} from './guest-transport.js'
import type { CellSpec, Specialisation } from './instance-spec.js'
import { transition, type InstanceState } from './instance-state.js'
import { awaitSpawn, reniceTree, spawnGuest, whenClosed } from './guest-process.js'
import { MemoryGauge } from './memory-gauge.js'
import { OutputLedger } from './output-ledger.js'
import type { GuestFrame } from './protocol.js'
import { PROCESSES, type GuestPaths } from './sandbox.js'
import { StartGate, afterPendingIo } from './start-gate.js'

export { FunctionFailure, InitFailure } from './guest-outcome.js'
export type { GuestOutcome, InvokeInput } from './guest-outcome.js'
export type { InstanceState } from './instance-state.js'
export type { CellSpec, Specialisation } from './instance-spec.js'

const STDERR_TAIL_BYTES = 4096

export class Instance {
  readonly id: string
  memorySizeMb = 0
  lastUsedAt = Date.now()
  readonly #child: ChildProcess
  readonly #spec: CellSpec
  readonly #ledger = new OutputLedger()
  readonly #channel: ControlChannel
  readonly #gate = new StartGate()
  /** Chosen at `specialise`; carries the invocations. */
  #transport: GuestTransport | undefined
  /** What the transport may ask of this instance. */
  readonly #host: TransportHost
  /** Changed only by `#to`. */
  #state: InstanceState = 'booting'
  #nextId = 1
  /** Invocations in flight, by id; at most `#capacity` (`concurrent_num`). */
  readonly #inflight = new Map<number, Invocation>()
  #capacity = 1
  #claims = 0
  #stderrTail = ''
  readonly #memory: MemoryGauge
  #initializerTimeoutMs = 0
  #initializing = false
  #exited: ExitStatus | undefined
  readonly #closed: Promise<void>
  #stopping: Promise<void> | undefined
  readonly #exitListeners: Array<(instance: Instance) => void> = []

  private constructor(spec: CellSpec, child: ChildProcess) {
    this.id = spec.instanceId
    this.#spec = spec
    this.#child = child
    this.#memory = new MemoryGauge(spec.plan.cgroup)
    this.#closed = whenClosed(child, (exit) => {
      this.#exited = exit
    })
    void this.#closed.then(() => this.#onClosed())
    child.stdout?.on('data', (chunk: Buffer) => {
      this.#ledger.receive(chunk)
      this.#channel.drain()
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES)
    })
    this.#channel = new ControlChannel(
      child.stdio[3] as Socket,
      this.#ledger,
      (header, payload) => this.#onGuestFrame(header, payload),
      (message) => {
        this.#stderrTail += `\n[strato] protocol error: ${message}`
        void this.stop()
      },
    )
    this.#host = {
      instanceId: this.id,
      ending: () => this.#state === 'stopping' || this.#state === 'stopped',
      finish: (id, outputEnd, answered) => this.#finish(id, outputEnd, answered),
      noteGuestExit: (id, code) => {
        const inflight = this.#inflight.get(id)
        if (inflight !== undefined) {
          inflight.exitCode = code
        }
      },
      failureOutcome: (failure) => this.#failureOutcome(failure),
      evidence: () => this.#evidence(),
      recentMemoryUsedMb: () => this.#memory.recent(),
      stop: () => this.stop(),
    }
  }

  /**
   * Spawns a sandboxed guest and resolves once its interpreter has booted (a stem cell);
   * rejects with FunctionFailure or StratoError.
   */
  static async startCell(spec: CellSpec): Promise<Instance> {
    let child: ChildProcess
    try {
      child = spawnGuest(spec.plan)
      if (spec.bootNiceness !== undefined && child.pid !== undefined) {
        // Before the sandbox forks the interpreter, which inherits it.
        reniceTree(child.pid, spec.bootNiceness)
      }
    } catch (err) {
      await spec.plan.release().catch(() => undefined)
      throw err
    }
    const instance = new Instance(spec, child)
    // Armed before anything is awaited: the guest's `cell` frame must find someone waiting.
    const booted = instance.#gate.await(spec.startTimeoutMs, () =>
      instance.#failStart(instance.#startTimeout('boot')),
    )
    booted.catch(() => undefined)
    try {
      await awaitSpawn(child, spec.plan.command, spec.instanceDir)
      // The veth is made while the interpreter boots: it costs the boot nothing it waits for.
      await Promise.all([booted, instance.#wireEgress()])
    } catch (err) {
      void instance.stop()
      throw err
    }
    if (instance.#state !== 'booting') {
      // It booted, then died or was stopped (a protocol error) before the pid file was written.
      await instance.#closed
      const failure = FunctionFailure.of(
        startDeathVerdict(instance.#evidence(), instance.#exited),
        instance.#ledger.takeAll(),
      )
      failure.memoryUsedMb = instance.#memory.read()
      throw failure
    }
    instance.#to('cell')
    return instance
  }

  async #wireEgress(): Promise<void> {
    const egress = this.#spec.plan.egress
    const pid = this.#child.pid
    if (egress === undefined || pid === undefined) {
      return
    }
    try {
      await egress.wire(pid)
    } catch (err) {
      throw new StratoError(
        'INSTANCE_START_FAILED',
        `The instance's network could not be made: ${(err as Error).message}`,
      )
    }
  }

  /**
   * Gives the cell its function's egress (ADR 0023); before `specialise`, so the function's code
   * never runs without it. A cell without a network (below bubblewrap, egress off) has only lo.
   */
  async attachEgress(egress: FunctionEgress): Promise<void> {
    await this.#spec.plan.egress?.attach(egress)
  }

  /**
   * Turns a booted cell into an instance of one function: sends its environment, then waits
   * until the handler module has loaded and the initializer has run.
   */
  async specialise(s: Specialisation): Promise<void> {
    if (this.#state !== 'cell') {
      throw new StratoError('INTERNAL', `Instance ${this.id} is ${this.#state}, not a cell.`)
    }
    this.#to('starting')
    if (this.#spec.bootNiceness !== undefined && this.#child.pid !== undefined) {
      reniceTree(this.#child.pid, 0)
    }
    this.memorySizeMb = s.memorySizeMb
    this.#capacity = Math.max(1, s.concurrency)
    this.#initializerTimeoutMs = s.initializerTimeoutMs
    // The one place the protocol is picked: what the family's guest speaks.
    const speaks: TransportKind = s.transport ?? (s.network === undefined ? 'frames' : 'http')
    const transport = transportFor(speaks, {
      host: this.#host,
      channel: this.#channel,
      network: s.network,
      pid: this.#child.pid,
      capacity: this.#capacity,
    })
    this.#transport = transport
    const ready = this.#gate.await(this.#spec.startTimeoutMs, () =>
      this.#failStart(this.#startTimeout('load')),
    )
    this.#channel.send({ t: 'specialise', env: s.env })
    await ready
    await transport.open()
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

  /** The one way the state changes: along a legal edge of `INSTANCE_TRANSITIONS`, or it throws. */
  #to(next: InstanceState): void {
    this.#state = transition(this.id, this.#state, next)
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** Called once when the instance is gone, whatever the reason. */
  onExit(listener: (instance: Instance) => void): void {
    this.#exitListeners.push(listener)
  }

  /** A missed start deadline, with what the host had seen of the start. */
  #startTimeout(phase: 'boot' | 'load'): FunctionFailure {
    const verdict = startTimeoutVerdict(
      phase,
      this.#spec.startTimeoutMs,
      {
        outputBytes: this.#ledger.received,
        undeliveredFrames: this.#channel.undelivered,
        exited: this.#exited !== undefined,
      },
      this.#stderrTail,
    )
    return FunctionFailure.of(verdict, this.#ledger.takeAll())
  }

  #failStart(err: unknown, guestMemoryMb?: unknown): void {
    const settle = this.#gate.take()
    if (err instanceof FunctionFailure) {
      err.memoryUsedMb = this.#memory.read(guestMemoryMb)
    }
    void this.stop()
    settle?.reject(err)
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
    const transport = this.#transport
    if (
      (this.#state !== 'idle' && this.#state !== 'busy') ||
      this.#inflight.size >= this.#capacity ||
      transport === undefined
    ) {
      return Promise.reject(
        new StratoError(
          'INTERNAL',
          `Instance ${this.id} is ${this.#state} with ${this.#inflight.size} of ${this.#capacity} invocations in flight.`,
        ),
      )
    }
    const refusal = transport.refuses(input)
    if (refusal !== undefined) {
      return Promise.reject(new StratoError('INTERNAL', refusal))
    }
    if (this.#state === 'idle') {
      this.#to('busy')
    }
    const id = this.#nextId++
    return new Promise<GuestOutcome>((resolve, reject) => {
      this.#track(id, input, resolve, reject)
      transport.send(id, input)
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
      exitCode: undefined,
      log: '',
    })
  }

  /** `TransportHost.finish`: the transport has an answer (or a failure) for invocation `id`. */
  #finish(id: number, outputEnd: number | undefined, answered: boolean): Invocation | undefined {
    const inflight = this.#inflight.get(id)
    if (inflight === undefined) {
      return undefined
    }
    this.#inflight.delete(id)
    clearTimeout(inflight.timer)
    inflight.log = this.#ledger.takeInvocationLog(outputEnd)
    if (this.#state === 'busy' && this.#inflight.size === 0) {
      this.#to('idle')
    }
    if (answered) {
      this.lastUsedAt = Date.now()
    }
    return inflight
  }

  #onTimeout(id: number): void {
    const inflight = this.#inflight.get(id)
    if (inflight === undefined) {
      return // it answered in time (its result was waiting in the socket)
    }
    this.#inflight.delete(id)
    const log = this.#ledger.takeInvocationLog(undefined)
    const verdict = timeoutVerdict(this.#evidence(), inflight.timeoutMs)
    void this.stop()
    inflight.resolve(this.#failureOutcome(FunctionFailure.of(verdict, log)))
  }

  /** What the death classifier judges by; reads the cgroup's counters. */
  #evidence(): InstanceEvidence {
    return {
      events: this.#spec.plan.cgroup?.events(),
      stderrTail: this.#stderrTail,
      memorySizeMb: this.memorySizeMb,
      processLimit: PROCESSES,
    }
  }

  #failureOutcome(f: FunctionFailure): GuestOutcome {
    return {
      ok: false,
      body: f.toErrorJson(),
      text: false,
      errorType: f.errorType,
      memoryUsedMb: f.memoryUsedMb > 0 ? f.memoryUsedMb : this.#memory.read(),
      log: f.log,
    }
  }

  /** Life-cycle frames are the instance's; invocation frames go to its transport. */
  #onGuestFrame(header: GuestFrame, payload: Buffer): void {
    switch (header.t) {
      case 'cell':
        this.#gate.pass()
        return
      case 'initializing':
        this.#initializing = true
        this.#gate.rearm(this.#initializerTimeoutMs, () =>
          this.#failStart(
            FunctionFailure.of(
              initializerTimeoutVerdict(this.#initializerTimeoutMs),
              this.#ledger.takeAll(),
            ),
          ),
        )
        return
      case 'ready': {
        if (this.#state !== 'starting') {
          return // late (the start already failed) or out of turn: nothing waits for it
        }
        const settle = this.#gate.take()
        this.#ledger.keepStartLog(header.out)
        this.#to('idle')
        settle?.resolve()
        return
      }
      case 'init-error':
        this.#failStart(
          InitFailure.fromGuest(
            header.errorType,
            payload,
            this.#ledger.take(header.out),
            this.#initializing ? 'initializer' : 'handler module',
          ),
          header.mem,
        )
        return
      case 'result':
      case 'exit':
        this.#transport?.onGuestFrame(header, payload)
        return
      default: {
        const never: never = header
        throw new StratoError('INTERNAL', `Unknown guest frame ${JSON.stringify(never)}`)
      }
    }
  }

  /** Judges why the process ended and fails whatever was waiting on it. */
  #onClosed(): void {
    this.#channel.drain()
    const exit = this.#exited
    const evidence = this.#evidence()
    const wasStopping = this.#state === 'stopping'
    this.#to('stopped')
    if (this.#gate.waiting) {
      this.#failStart(FunctionFailure.of(startDeathVerdict(evidence, exit), this.#ledger.takeAll()))
    }
    for (const inflight of [...this.#inflight.values()]) {
      this.#inflight.delete(inflight.id)
      clearTimeout(inflight.timer)
      const log = this.#ledger.takeInvocationLog(undefined)
      const verdict = invocationDeathVerdict(evidence, exit, {
        guestExitCode: inflight.exitCode,
        wasStopping,
      })
      inflight.resolve(this.#failureOutcome(FunctionFailure.of(verdict, log)))
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
      this.#to('stopping')
    }
    // The last reading of the cgroup's peak, for failures judged after it is gone.
    this.#memory.read()
    this.#stopping = (async () => {
      const pid = this.#child.pid
      if (pid !== undefined) {
        try {
          process.kill(-pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      this.#channel.destroy()
      this.#transport?.close()
      // The cgroup holds every process of the instance, whatever session or group it moved to.
      await this.#spec.plan.release().catch(() => undefined)
      await this.#closed
      await fsp.rm(this.#spec.instanceDir, { recursive: true, force: true }).catch(() => undefined)
    })()
    return this.#stopping
  }
}
