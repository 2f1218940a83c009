/**
 * @module DurableFlowEngine: the FlowEngine. A NORMAL execution is driven under a lease by running
 * the interpreter over a HistoryHost: from the start on the same input after every (re)claim, the
 * history answering what already happened (replay). An EXPRESS execution runs once in memory. See
 * src/flows/README.md for the invariants and ADR 0021 for why replay.
 */
import { randomUUID } from 'node:crypto'
import {
  isStratoError,
  StratoError,
  type ExecutionLease,
  type ExecutionRecord,
  type ExecutionUpdate,
  type FlowRepository,
  type FunctionResolver,
  type Invoker,
  type NewFlowEvent,
  type WorkflowRecord,
} from '../../core/index.js'
import type { Logger } from '../../observability/index.js'
import type { AslDefinition, ExecutionOutcome, JsonValue } from '../asl/definition.js'
import type { ExecutionContext, ExecutionHost, RunRequest } from '../asl/host.js'
import type {
  CallbackResult,
  FlowEngine,
  StartOptions,
  SyncExecutionResult,
} from '../flow-engine.js'
import type { CallbackStartOptions, FlowAsyncQueue } from './callback-starts.js'
import { CallbackWaits } from './callback-waits.js'
import { FunctionCaller, type FunctionCallerOptions } from './function-calls.js'
import { FoldedHistory, taskKey, type CallbackPayload } from './history.js'
import { HistoryHost, type StopReason } from './history-host.js'
import { MemoryHost } from './memory-host.js'
import { setLongTimeout } from './long-timer.js'
import {
  endingOf,
  executionEvent,
  failedOnRestart,
  messageOf,
  type Ending,
} from './execution-endings.js'
import { runStateMachine } from '../asl/interpreter.js'

/** EXPRESS executions (and every sync start) end by then (Huawei's and AWS's limit). */
export const EXPRESS_TIME_LIMIT_MS = 5 * 60_000

export interface DurableFlowEngineOptions {
  readonly repository: FlowRepository
  readonly functions: FunctionResolver
  readonly invoker: Invoker
  /** Where callback tasks start their functions: the async queue, as any async call. */
  readonly asyncQueue: FlowAsyncQueue
  /** How often a waiting callback task reads its async event's record (default 1 s). */
  readonly asyncStatusPollMs?: number
  /** The interpreter; `runStateMachine` unless a test fakes it. */
  readonly run?: (request: RunRequest) => Promise<ExecutionOutcome>
  /**
   * Who holds the leases this engine takes. Stable across restarts of one node, so a restarted
   * engine takes its own leases back at once instead of waiting for them to expire.
   */
  readonly owner: string
  /** How long a lease lasts unrenewed (renewed every third of it). */
  readonly leaseMs: number
  /** How often orphaned executions are looked for (default: half a lease). */
  readonly scanMs?: number
  readonly expressTimeLimitMs?: number
  readonly logger: Pick<Logger, 'warn' | 'error'>
  /** Overrides of the function caller's throttling retries (tests). */
  readonly calls?: Pick<FunctionCallerOptions, 'unavailableRetries' | 'unavailableBackoffMs'>
}

interface Driver {
  readonly controller: AbortController
  reason: StopReason | undefined
  readonly callbacks: CallbackWaits
  memory: MemoryHost | undefined
  done: Promise<void>
}

/**
 * Once a run's end is known nothing of it may go on: tasks of stopped Parallel branches or past
 * the execution's timeout, callback polls and the `$execution-timeout` sleep all end with the
 * driver's signal (they would otherwise run, and append, after the final event).
 */
function settle(driver: Driver): void {
  if (!driver.controller.signal.aborted) {
    driver.controller.abort()
  }
}

/** How many orphaned executions one store query returns. */
const ORPHAN_PAGE = 500

export class DurableFlowEngine implements FlowEngine {
  readonly #o: DurableFlowEngineOptions
  readonly #caller: FunctionCaller
  readonly #starts: CallbackStartOptions
  readonly #drivers = new Map<string, Driver>()
  #scanTimer: NodeJS.Timeout | undefined
  #scanning: Promise<void> | undefined
  #closed = false

  constructor(options: DurableFlowEngineOptions) {
    this.#o = options
    this.#caller = new FunctionCaller({
      functions: options.functions,
      invoker: options.invoker,
      ...options.calls,
    })
    this.#starts = { queue: options.asyncQueue, pollMs: options.asyncStatusPollMs ?? 1_000 }
  }

  async start(
    workflow: WorkflowRecord,
    input: JsonValue,
    options: StartOptions,
  ): Promise<{ readonly executionId: string }> {
    const { record, lease } = await this.#create(workflow, input, options)
    if (lease !== undefined) {
      if (workflow.mode === 'EXPRESS') {
        void this.#runExpress(record, lease)
      } else {
        this.#drive(record, lease)
      }
    }
    return { executionId: record.id }
  }

  async startSync(
    workflow: WorkflowRecord,
    input: JsonValue,
    options: StartOptions,
  ): Promise<SyncExecutionResult> {
    const { record, lease } = await this.#create(workflow, input, options)
    if (lease === undefined) {
      throw new StratoError('FLOW_INVALID_EXECUTION', `Execution ${record.id} exists already.`)
    }
    const { ending, host } = await this.#runExpress(record, lease)
    const endAt = Date.now()
    const failures = host.failed.map((f) => ({
      nodeId: f.nodeId,
      errorMessage: messageOf(f.error, f.cause),
      beginAt: f.beginAt,
      endAt: f.endAt,
    }))
    if (ending.status !== 'success' && failures.length === 0) {
      failures.push({
        nodeId: '',
        errorMessage: messageOf(ending.error ?? 'States.Runtime', ending.cause),
        beginAt: record.beginAt.getTime(),
        endAt,
      })
    }
    return {
      executionId: record.id,
      status: ending.status,
      output: ending.output,
      errors: failures,
      beginAt: record.beginAt.getTime(),
      endAt,
    }
  }

  async stop(execution: ExecutionRecord): Promise<void> {
    const stopped =
      execution.status === 'running' &&
      (await this.#o.repository.stopExecution(
        execution.id,
        executionEvent('ExecutionStopped', {}),
        Date.now(),
      ))
    if (!stopped) {
      throw new StratoError('FLOW_INVALID_EXECUTION', `Execution ${execution.id} is not running.`)
    }
    this.#abort(execution.id, 'stopped')
  }

  async retry(execution: ExecutionRecord): Promise<void> {
    const retriable =
      execution.mode === 'NORMAL' && (execution.status === 'fail' || execution.status === 'timeout')
    // Registered before the awaits, so no scan can start a second driver meanwhile.
    const driver = retriable ? this.#register(execution.id) : undefined
    try {
      const lease =
        driver &&
        (await this.#o.repository.redrive(
          execution.id,
          executionEvent('ExecutionRedriven', { redriveCount: execution.redriveCount + 1 }),
          this.#leaseTerms(),
        ))
      const record = lease && (await this.#o.repository.getExecution(execution.id))
      if (driver === undefined || lease === undefined || record === undefined) {
        throw new StratoError(
          'FLOW_INVALID_EXECUTION',
          `Execution ${execution.id} did not fail or time out; only those can be retried.`,
        )
      }
      this.#drive(record, lease, driver)
    } catch (err) {
      if (driver !== undefined) {
        this.#unregister(execution.id, driver)
      }
      throw err
    }
  }

  async callback(
    execution: ExecutionRecord,
    stateId: string,
    result: CallbackResult,
  ): Promise<void> {
    const payload: CallbackPayload = result
    const driver = this.#drivers.get(execution.id)
    if (execution.status === 'running' && execution.mode === 'EXPRESS') {
      const key = driver?.memory?.waiting.get(stateId)
      if (driver !== undefined && key !== undefined) {
        driver.callbacks.deliver(key, payload)
        return
      }
    } else if (execution.status === 'running') {
      const history = new FoldedHistory(await this.#o.repository.events(execution.id))
      const waiting = history.waitingCallbacks().find((w) => w.nodeId === stateId)
      const recorded =
        waiting !== undefined &&
        (await this.#o.repository.recordEvent(execution.id, {
          ...executionEvent('CallbackReceived', payload),
          path: waiting.path,
          nodeId: stateId,
          attempt: waiting.attempt,
        })) !== undefined
      if (waiting !== undefined && recorded) {
        driver?.callbacks.deliver(taskKey(waiting.path, waiting.attempt), payload)
        return
      }
    }
    throw new StratoError(
      'FLOW_INVALID_EXECUTION',
      `No state ${stateId} of execution ${execution.id} is waiting for a callback.`,
    )
  }

  async resume(): Promise<void> {
    this.#scanTimer ??= setInterval(
      () => {
        void this.#scan()
      },
      this.#o.scanMs ?? Math.max(50, Math.floor(this.#o.leaseMs / 2)),
    )
    this.#scanTimer.unref()
    await this.#scan(true)
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#scanTimer)
    await this.#scanning
    for (const id of this.#drivers.keys()) {
      this.#abort(id, 'shutdown')
    }
    await Promise.all([...this.#drivers.values()].map((d) => d.done))
  }

  /** Resolves once this engine no longer drives the execution (tests, the bench). */
  async drained(executionId: string): Promise<void> {
    await this.#drivers.get(executionId)?.done
  }

  /** How many executions this engine drives now. */
  get driving(): number {
    return this.#drivers.size
  }

  async #create(
    workflow: WorkflowRecord,
    input: JsonValue,
    options: StartOptions,
  ): Promise<{ record: ExecutionRecord; lease: ExecutionLease | undefined }> {
    if (this.#closed) {
      throw new StratoError('SERVICE_UNAVAILABLE', 'The flow engine is shutting down.')
    }
    const now = new Date()
    const record: ExecutionRecord = {
      id: options.executionId ?? randomUUID(),
      workflowId: workflow.id,
      projectId: workflow.projectId,
      workflowUrn: workflow.urn,
      workflowName: workflow.name,
      mode: workflow.mode,
      status: 'running',
      inputJson: JSON.stringify(input),
      outputJson: undefined,
      error: undefined,
      headersJson: JSON.stringify(options.headers),
      irJson: workflow.irJson,
      createdBy: options.createdBy,
      beginAt: now,
      endAt: undefined,
      updatedAt: now,
      redriveCount: 0,
      eventCount: 0,
    }
    const { created, lease } = await this.#o.repository.createExecution(
      record,
      [{ ...executionEvent('ExecutionStarted', { input }), at: now.getTime() }],
      this.#leaseTerms(),
    )
    if (!created) {
      // A repeated start of the same workflow is idempotent; the id of another one's is not free.
      const existing = await this.#o.repository.getExecution(record.id)
      if (
        existing !== undefined &&
        (existing.workflowId !== record.workflowId || existing.projectId !== record.projectId)
      ) {
        throw new StratoError('FLOW_EXECUTION_ID_IN_USE', `Execution ${record.id}.`)
      }
    }
    return { record, lease }
  }

  #leaseTerms(): { owner: string; until: number } {
    return { owner: this.#o.owner, until: Date.now() + this.#o.leaseMs }
  }

  #register(executionId: string): Driver {
    const driver: Driver = {
      controller: new AbortController(),
      reason: undefined,
      callbacks: new CallbackWaits(),
      memory: undefined,
      done: Promise.resolve(),
    }
    this.#drivers.set(executionId, driver)
    return driver
  }

  #abort(executionId: string, reason: StopReason): void {
    const driver = this.#drivers.get(executionId)
    if (driver !== undefined && !driver.controller.signal.aborted) {
      driver.reason = reason
      driver.controller.abort()
    }
  }

  /** Renews the lease a third of its length before it would lapse; a lost one stops the drive. */
  #keepLease(lease: ExecutionLease): () => void {
    const timer = setInterval(
      () => {
        this.#o.repository.renew(lease, Date.now() + this.#o.leaseMs).then(
          (held) => {
            if (!held) {
              this.#abort(lease.executionId, 'lease-lost')
            }
          },
          (err: unknown) => this.#o.logger.warn({ err }, 'renewing a flow lease failed'),
        )
      },
      Math.max(20, Math.floor(this.#o.leaseMs / 3)),
    )
    return () => clearInterval(timer)
  }

  /** Forgets `driver` unless a newer one (a retry's) has taken its place. */
  #unregister(executionId: string, driver: Driver): void {
    if (this.#drivers.get(executionId) === driver) {
      this.#drivers.delete(executionId)
    }
  }

  #drive(
    record: ExecutionRecord,
    lease: ExecutionLease,
    driver: Driver = this.#register(record.id),
  ): void {
    driver.done = this.#driveNormal(record, lease, driver)
      .catch((err: unknown) =>
        this.#o.logger.error({ err, executionId: record.id }, 'driving a flow execution failed'),
      )
      .finally(() => this.#unregister(record.id, driver))
  }

  async #driveNormal(
    record: ExecutionRecord,
    lease: ExecutionLease,
    driver: Driver,
  ): Promise<void> {
    const stopKeeping = this.#keepLease(lease)
    try {
      const [events, current] = await Promise.all([
        this.#o.repository.events(record.id),
        this.#o.repository.getExecution(record.id),
      ])
      if (current?.status !== 'running') {
        return
      }
      const history = new FoldedHistory(events)
      const host = new HistoryHost({
        execution: current,
        history,
        lease: () => lease,
        repository: this.#o.repository,
        caller: this.#caller,
        starts: this.#starts,
        callbacks: driver.callbacks,
        signal: driver.controller.signal,
        abort: (reason) => this.#abort(record.id, reason),
      })
      const definition = JSON.parse(current.irJson) as AslDefinition
      // The interpreter's TimeoutSeconds runs from the start of this drive (a redrive restarts it),
      // through a timer the history keeps.
      const drive = {
        ...current,
        beginAt: new Date(history.driveStartedAt || current.beginAt.getTime()),
      }
      const outcome = await this.#runGuarded(drive, definition, host, driver, undefined)
      const ending = endingOf(outcome, driver.reason, (state) =>
        state === undefined ? undefined : (history.failedNodes.get(state)?.id ?? state),
      )
      settle(driver)
      if (ending !== undefined) {
        const pending = host.takePending()
        // A full history has room for the end only: what waited to be appended is dropped.
        const events = driver.reason === 'history-full' ? [] : pending
        await this.#finish(lease, [...events, ending.event], ending.update)
      } else if (driver.reason === 'shutdown') {
        await this.#o.repository.release(lease)
      }
    } finally {
      stopKeeping()
    }
  }

  async #runExpress(
    record: ExecutionRecord,
    lease: ExecutionLease,
  ): Promise<{ ending: Ending; host: MemoryHost }> {
    const driver = this.#register(record.id)
    const host = new MemoryHost({
      execution: record,
      caller: this.#caller,
      starts: this.#starts,
      callbacks: driver.callbacks,
      signal: driver.controller.signal,
    })
    driver.memory = host
    const stopKeeping = this.#keepLease(lease)
    let finished!: (ending: Ending) => void
    const result = new Promise<Ending>((resolve) => (finished = resolve))
    driver.done = (async () => {
      try {
        const definition = JSON.parse(record.irJson) as AslDefinition
        const limit = this.#o.expressTimeLimitMs ?? EXPRESS_TIME_LIMIT_MS
        const ownLimit =
          definition.TimeoutSeconds === undefined ? limit : definition.TimeoutSeconds * 1000
        const deadline = record.beginAt.getTime() + Math.min(limit, ownLimit)
        const outcome = await this.#runGuarded(record, definition, host, driver, deadline)
        const nodeOf = (state: string | undefined): string | undefined =>
          state === undefined
            ? undefined
            : (host.failed.find((f) => f.stateName === state)?.nodeId ?? state)
        const ending = endingOf(outcome, driver.reason, nodeOf)
        settle(driver)
        if (ending === undefined) {
          if (driver.reason === 'shutdown') {
            // An EXPRESS run keeps no history to resume from: it ends here (at-most-once).
            await this.#finish(lease, ...failedOnRestart())
          }
          finished({ status: 'fail', output: undefined, error: 'States.Runtime', cause: undefined })
          return
        }
        // A sync answer leaves once the end is stored: a show right after it agrees with it.
        await this.#finish(lease, [ending.event], ending.update)
        finished(ending.summary)
      } catch (err) {
        finished({ status: 'fail', output: undefined, error: 'States.Runtime', cause: String(err) })
        this.#o.logger.error({ err, executionId: record.id }, 'an EXPRESS flow execution failed')
      } finally {
        stopKeeping()
        this.#unregister(record.id, driver)
      }
    })()
    return { ending: await result, host }
  }

  /** Runs the interpreter until it ends, the deadline passes or the driver is aborted. */
  async #runGuarded(
    record: ExecutionRecord,
    definition: AslDefinition,
    host: ExecutionHost,
    driver: Driver,
    deadline: number | undefined,
  ): Promise<ExecutionOutcome | undefined> {
    const cancelTimer =
      deadline === undefined
        ? undefined
        : setLongTimeout(() => this.#abort(record.id, 'timeout'), deadline - Date.now())
    const context: ExecutionContext = {
      executionId: record.id,
      executionName: record.id,
      startTime: record.beginAt.toISOString(),
      stateMachineId: record.workflowUrn,
      stateMachineName: record.workflowName,
      redriveCount: record.redriveCount,
    }
    try {
      const outcome = await (this.#o.run ?? runStateMachine)({
        definition,
        input: JSON.parse(record.inputJson) as JsonValue,
        context,
        host,
        seed: record.id,
      })
      return driver.controller.signal.aborted ? undefined : outcome
    } catch (err) {
      if (driver.controller.signal.aborted) {
        return undefined
      }
      const message = err instanceof Error ? err.message : String(err)
      return {
        status: 'FAILED',
        error: 'States.Runtime',
        cause: JSON.stringify({ errorMessage: message, errorType: 'States.Runtime' }),
      }
    } finally {
      cancelTimer?.()
    }
  }

  async #finish(
    lease: ExecutionLease,
    events: readonly NewFlowEvent[],
    update: ExecutionUpdate,
  ): Promise<void> {
    try {
      await this.#o.repository.appendEvents(lease, events, update)
    } catch (err) {
      // Stopped or taken over meanwhile: whoever holds it now ends it.
      if (!isStratoError(err, 'FLOW_LEASE_LOST')) {
        throw err
      }
    }
  }

  /**
   * Claims orphaned executions, page by page. Only the first scan (`resume`) takes back this
   * node's own live leases (left by its previous process); later ones would otherwise list the
   * executions this node is driving, and never get past the first page of them.
   */
  async #scan(includeOwn = false): Promise<void> {
    if (this.#closed || this.#scanning !== undefined) {
      return
    }
    this.#scanning = this.#takeOrphans(includeOwn).finally(() => (this.#scanning = undefined))
    await this.#scanning
  }

  async #takeOrphans(includeOwn: boolean): Promise<void> {
    try {
      const owner = includeOwn ? this.#o.owner : undefined
      let after: string | undefined
      for (;;) {
        const ids = await this.#o.repository.orphaned(Date.now(), ORPHAN_PAGE, owner, after)
        await this.#claimOrphans(ids)
        after = ids.at(-1)
        if (ids.length < ORPHAN_PAGE || this.#closed) {
          return
        }
      }
    } catch (err) {
      this.#o.logger.error({ err }, 'recovering flow executions failed')
    }
  }

  async #claimOrphans(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if (this.#closed) {
        return
      }
      if (this.#drivers.has(id)) {
        continue
      }
      // Registered before the awaits: a start, retry or other scan meanwhile sees it is driven.
      const driver = this.#register(id)
      let driving = false
      try {
        const now = Date.now()
        const lease = await this.#o.repository.claim(id, this.#o.owner, now, now + this.#o.leaseMs)
        const record = lease && (await this.#o.repository.getExecution(id))
        if (lease === undefined || record === undefined) {
          continue
        }
        if (record.mode === 'EXPRESS') {
          await this.#finish(lease, ...failedOnRestart())
        } else {
          this.#drive(record, lease, driver)
          driving = true
        }
      } finally {
        if (!driving) {
          this.#unregister(id, driver)
        }
      }
    }
  }
}
