/**
 * @module AsyncStatusLog: the `AsyncQueue` every async event's status change passes through,
 * wrapped so that a project that turned its async status log on (`enable-async-status-logs`)
 * gets each change as an entry of its async-status log stream: accepted (WAIT), RUNNING, back to
 * WAIT for a retry (with why), and SUCCESS, FAIL or DISCARD with the attempts made.
 */
import type {
  AsyncLeaseRequest,
  AsyncQueue,
  AsyncSettlement,
  AsyncStatusLogEntry,
  DeletedAsyncTarget,
  LeasedEvent,
  NewAsyncEvent,
  RecoveredLease,
} from '../core/index.js'

export interface AsyncStatusLogOptions {
  /** The project's switch; asked on every change, so it answers from memory. */
  readonly enabled: (projectId: string) => boolean
  /** Where entries go (the log store: it queues, the write happens off the event loop). */
  readonly log: { appendAsyncStatus(entry: AsyncStatusLogEntry): void }
}

/**
 * Only what the queue accepted or applied is logged: an enqueue that failed, or a settlement of a
 * lease that was lost, changed nothing and writes nothing. An entry is written after the change,
 * so a crash in between can lose the entry (the record stays right); it is a log, not the record.
 */
export class AsyncStatusLog implements AsyncQueue {
  readonly #queue: AsyncQueue
  readonly #o: AsyncStatusLogOptions
  /**
   * Events whose enqueue has not resolved here yet. The queue may lease one before that (it tells
   * the dispatcher as soon as the event is committed), so whichever comes first writes its WAIT
   * entry: the stream never shows RUNNING before the acceptance.
   */
  readonly #accepting = new Map<string, NewAsyncEvent>()

  constructor(queue: AsyncQueue, options: AsyncStatusLogOptions) {
    this.#queue = queue
    this.#o = options
  }

  #write(
    event: Pick<NewAsyncEvent, 'projectId' | 'functionId' | 'requestId'> & {
      functionUrn?: string
    },
    change: { status: string; attempts: number; atMs: number; errorCode?: number; message: string },
  ): void {
    if (!this.#o.enabled(event.projectId)) {
      return
    }
    this.#o.log.appendAsyncStatus({
      projectId: event.projectId,
      functionId: event.functionId,
      functionUrn: event.functionUrn ?? '',
      requestId: event.requestId,
      status: change.status,
      attempts: change.attempts,
      atMs: change.atMs,
      errorCode: change.errorCode ?? 0,
      message: change.message,
    })
  }

  async enqueue(event: NewAsyncEvent): Promise<void> {
    this.#accepting.set(event.requestId, event)
    try {
      await this.#queue.enqueue(event)
    } catch (err) {
      this.#accepting.delete(event.requestId)
      throw err
    }
    this.#accepted(event.requestId)
  }

  #accepted(requestId: string): void {
    const event = this.#accepting.get(requestId)
    if (event === undefined) {
      return
    }
    this.#accepting.delete(requestId)
    this.#write(event, {
      status: 'WAIT',
      attempts: 0,
      atMs: event.acceptedAtMs,
      message:
        event.triggerId === undefined ? 'accepted' : `accepted from trigger ${event.triggerId}`,
    })
  }

  async lease(request: AsyncLeaseRequest): Promise<LeasedEvent[]> {
    const events = await this.#queue.lease(request)
    for (const e of events) {
      this.#accepted(e.requestId)
      this.#write(e, {
        status: 'RUNNING',
        attempts: e.attempt,
        atMs: request.nowMs,
        message: `attempt ${e.attempt}`,
      })
    }
    return events
  }

  async settle(event: LeasedEvent, settlement: AsyncSettlement): Promise<boolean> {
    const held = await this.#queue.settle(event, settlement)
    if (held) {
      if (settlement.kind === 'done') {
        this.#write(event, {
          status: settlement.status,
          attempts: event.attempt,
          atMs: settlement.endedAtMs,
          errorCode: settlement.errorCode,
          message: settlement.errorMessage,
        })
      } else {
        this.#write(event, {
          status: 'WAIT',
          attempts: event.attempt,
          atMs: Date.now(),
          message: `retry after a ${settlement.functionError ? 'function' : 'system'} error, not before ${new Date(settlement.notBeforeMs).toISOString()}: ${settlement.errorMessage}`,
        })
      }
    }
    return held
  }

  async record(
    event: NewAsyncEvent,
    ran: { readonly attempts: number; readonly startedAtMs: number },
    settlement: Extract<AsyncSettlement, { kind: 'done' }>,
  ): Promise<void> {
    await this.#queue.record(event, ran, settlement)
    this.#write(event, {
      status: settlement.status,
      attempts: ran.attempts,
      atMs: settlement.endedAtMs,
      errorCode: settlement.errorCode,
      message: settlement.errorMessage,
    })
  }

  async recoverLeases(options: {
    readonly nowMs: number
    readonly all: boolean
  }): Promise<RecoveredLease[]> {
    const recovered = await this.#queue.recoverLeases(options)
    for (const lease of recovered) {
      this.#write(lease, {
        status: 'WAIT',
        attempts: lease.attempt,
        atMs: options.nowMs,
        message: `attempt ${lease.attempt} was cut short (its lease ended); the event waits again`,
      })
    }
    return recovered
  }

  onReady(listener: () => void): void {
    this.#queue.onReady(listener)
  }

  discardDeleted(target: DeletedAsyncTarget): Promise<void> {
    return this.#queue.discardDeleted(target)
  }

  onDeleted(listener: (target: DeletedAsyncTarget) => Promise<void>): void {
    this.#queue.onDeleted(listener)
  }

  leaseDeleted(target: DeletedAsyncTarget, max: number, nowMs: number): Promise<LeasedEvent[]> {
    // Settled as DISCARD right after, and logged then.
    return this.#queue.leaseDeleted(target, max, nowMs)
  }

  deleteFunction(functionId: string): Promise<void> {
    return this.#queue.deleteFunction(functionId)
  }

  prune(beforeMs: number): Promise<void> {
    return this.#queue.prune(beforeMs)
  }
}
