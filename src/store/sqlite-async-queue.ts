/**
 * @module SqliteAsyncQueue: the embedded AsyncQueue, a table in the store's SQLite database (WAL).
 * Accepted events are group-committed: every enqueue and settlement of one event-loop turn goes
 * into one transaction, and only then are their promises resolved.
 */
import { randomUUID } from 'node:crypto'
import type SQLite from 'better-sqlite3'
import type {
  AsyncLeaseRequest,
  AsyncQueue,
  AsyncRecord,
  AsyncRecordQuery,
  AsyncRecordRepository,
  AsyncSettlement,
  AsyncStatus,
  DeletedAsyncTarget,
  LeasedEvent,
  NewAsyncEvent,
  RecoveredLease,
  StoredDeadLetter,
} from '../core/index.js'
import { contextHeadersJson, leasedEventOf, type LeaseRow } from './sqlite-async-lease-row.js'
import { prepareQueueStatements, type QueueStatements } from './sqlite-async-statements.js'
import { cancelWaiting, listDeadLetters, listRecords } from './sqlite-async-records.js'

export interface SqliteAsyncQueueOptions {
  /**
   * A lease lasts the function's timeout plus this; a worker that has not settled by then is
   * presumed dead and the event is redelivered.
   */
  readonly leaseGraceMs: number
  /**
   * Commit accepted events with `synchronous = FULL` (an fsync of the WAL per group commit), so
   * they survive a power cut too; otherwise they survive a crash of the process (WAL, NORMAL).
   */
  readonly fsync: boolean
  readonly onError: (err: unknown) => void
  /**
   * Resolves once every invocation log appended so far is on disk. A settlement waits for it
   * before it joins a group commit, so an attempt's log is never later than its settlement.
   */
  readonly logsWritten?: () => Promise<void>
  /** The same, synchronously: for close(), which settles everything still waiting. */
  readonly flushLogs?: () => void
}

interface Pending<T> {
  readonly item: T
  readonly resolve: (value: boolean) => void
  readonly reject: (err: unknown) => void
}

interface Settling {
  readonly event: LeasedEvent
  readonly settlement: AsyncSettlement
  /** Set for an event its trigger source ran itself (`record`): inserted, then settled. */
  readonly ran?: { readonly startedAtMs: number }
}

/**
 * The embedded queue, and its records (the two ports share its table). Which functions have waiting events is kept in memory (`#due`: function id →
 * earliest `not_before`, a lower bound), so a lease reads only the rows it takes, through the
 * `(status, function_id, not_before)` index, however long the backlog is.
 */
export class SqliteAsyncQueue implements AsyncQueue, AsyncRecordRepository {
  readonly #db: SQLite.Database
  readonly #o: SqliteAsyncQueueOptions
  readonly #due = new Map<string, number>()
  readonly #listeners: Array<() => void> = []
  readonly #deletedListeners: Array<(target: DeletedAsyncTarget) => Promise<void>> = []
  #enqueues: Array<Pending<NewAsyncEvent>> = []
  #settles: Array<Pending<Settling>> = []
  /** Settlements whose attempt's log is not yet confirmed on disk (`logsWritten`). */
  readonly #awaitingLogs = new Set<Pending<Settling>>()
  #scheduled = false
  #closed = false
  #rotation = 0
  readonly #stmt: QueueStatements
  readonly #commit: (enqueues: readonly NewAsyncEvent[], settles: readonly Settling[]) => boolean[]

  constructor(db: SQLite.Database, options: SqliteAsyncQueueOptions) {
    this.#db = db
    this.#o = options
    this.#stmt = prepareQueueStatements(db)
    this.#commit = db.transaction(
      (enqueues: readonly NewAsyncEvent[], settles: readonly Settling[]): boolean[] => {
        for (const e of enqueues) {
          this.#insert(e)
        }
        return settles.map((s) => {
          if (s.ran !== undefined) {
            this.#insertRan(s.event, s.ran.startedAtMs)
          }
          return this.#applySettlement(s.event, s.settlement)
        })
      },
    )
    this.#rebuildDue()
  }

  #insert(e: NewAsyncEvent): void {
    this.#stmt.insert.run(
      e.requestId,
      e.projectId,
      e.functionId,
      e.functionUrn,
      e.qualifier,
      e.payload,
      e.timeoutMs,
      e.acceptedAtMs,
      e.acceptedAtMs,
      e.triggerId ?? '',
      e.traceparent ?? '',
      contextHeadersJson(e),
    )
  }

  #insertRan(e: LeasedEvent, startedAtMs: number): void {
    this.#stmt.insertRan.run(
      e.requestId,
      e.projectId,
      e.functionId,
      e.functionUrn,
      e.qualifier,
      e.payload,
      e.timeoutMs,
      e.acceptedAtMs,
      e.acceptedAtMs,
      e.triggerId ?? '',
      e.traceparent ?? '',
      contextHeadersJson(e),
      e.leaseToken,
      e.attempt,
      startedAtMs,
    )
  }

  #noteDue(functionId: string, dueMs: number): void {
    const known = this.#due.get(functionId)
    if (known === undefined || dueMs < known) {
      this.#due.set(functionId, dueMs)
    }
  }

  #rebuildDue(): void {
    this.#due.clear()
    const rows = this.#db
      .prepare(
        `select function_id, min(not_before) as due from async_invocations
         where status = 'WAIT' group by function_id`,
      )
      .all() as Array<{ function_id: string; due: number }>
    for (const r of rows) {
      this.#due.set(r.function_id, r.due)
    }
  }

  #applySettlement(event: LeasedEvent, s: AsyncSettlement): boolean {
    if (s.kind === 'retry') {
      const changed = this.#stmt.retry.run(
        s.notBeforeMs,
        s.functionError ? 1 : 0,
        s.functionError ? 0 : 1,
        s.errorMessage,
        event.requestId,
        event.leaseToken,
      ).changes
      if (changed === 1) {
        this.#noteDue(event.functionId, s.notBeforeMs)
      }
      return changed === 1
    }
    const changed = this.#stmt.finish.run(
      s.status,
      s.errorCode,
      s.errorMessage,
      s.endedAtMs,
      event.requestId,
      event.leaseToken,
    ).changes
    if (changed !== 1) {
      return false // the lease was lost: whoever holds it now settles the event
    }
    // The outbox: destinations and the dead letter commit with the terminal state, or not at all.
    for (const next of s.enqueue) {
      this.#insert(next)
      this.#noteDue(next.functionId, next.acceptedAtMs)
    }
    if (s.deadLetter !== undefined) {
      const d = s.deadLetter
      this.#stmt.deadLetter.run(d.projectId, d.functionId, d.requestId, d.createdAtMs, d.record)
    }
    return true
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true
      // One transaction per event-loop turn: every request parsed in this turn shares the commit.
      setImmediate(() => this.#flushWhenFree())
    }
  }

  /**
   * A Kysely transaction of another store (publish, create) may be open across its awaits on this
   * same connection: a transaction begun now would become its savepoint and be rolled back with
   * it, after the queue had already answered for it. So the queue's writes wait until it is done.
   */
  #connectionFree(): Promise<void> {
    if (!this.#db.inTransaction) {
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.#db.inTransaction) {
          setImmediate(check)
        } else {
          resolve()
        }
      }
      setImmediate(check)
    })
  }

  #flushWhenFree(): void {
    if (this.#db.inTransaction) {
      setImmediate(() => this.#flushWhenFree())
      return
    }
    this.flush()
  }

  /** Commits everything pending now (also on close); resolves the waiting promises after. */
  flush(): void {
    this.#scheduled = false
    if (this.#enqueues.length === 0 && this.#settles.length === 0) {
      return
    }
    const enqueues = this.#enqueues
    const settles = this.#settles
    this.#enqueues = []
    this.#settles = []
    const durable = this.#o.fsync && enqueues.length > 0
    let results: boolean[]
    try {
      if (durable) {
        this.#db.pragma('synchronous = FULL')
      }
      try {
        results = this.#commit(
          enqueues.map((p) => p.item),
          settles.map((p) => p.item),
        )
      } finally {
        if (durable) {
          this.#db.pragma('synchronous = NORMAL')
        }
      }
    } catch (err) {
      for (const p of [...enqueues, ...settles]) {
        p.reject(err)
      }
      this.#o.onError(err)
      return
    }
    for (const p of enqueues) {
      this.#noteDue(p.item.functionId, p.item.acceptedAtMs)
      p.resolve(true)
    }
    settles.forEach((p, i) => p.resolve(results[i] ?? false))
    if (enqueues.length > 0 || settles.some((s) => s.item.settlement.kind === 'done')) {
      for (const listener of this.#listeners) {
        listener()
      }
    }
  }

  enqueue(event: NewAsyncEvent): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Error('The async queue is closed.'))
    }
    return new Promise<boolean>((resolve, reject) => {
      this.#enqueues.push({ item: event, resolve, reject })
      this.#schedule()
    }).then(() => undefined)
  }

  settle(event: LeasedEvent, settlement: AsyncSettlement): Promise<boolean> {
    if (this.#closed) {
      return Promise.resolve(false)
    }
    return new Promise<boolean>((resolve, reject) => {
      const pending: Pending<Settling> = { item: { event, settlement }, resolve, reject }
      const logged = this.#o.logsWritten?.()
      if (logged === undefined) {
        this.#settles.push(pending)
        this.#schedule()
        return
      }
      this.#awaitingLogs.add(pending)
      const join = (): void => {
        // close() may have taken it already.
        if (this.#awaitingLogs.delete(pending)) {
          this.#settles.push(pending)
          this.#schedule()
        }
      }
      // A log that could not be written is reported by the log store; the settlement still counts.
      logged.then(join, join)
    })
  }

  /**
   * Records an event a trigger source ran itself (a broker's batch, whose messages wait unacked in
   * the broker rather than here) once it ended, after `attempts` attempts: its record, destination
   * event and dead letter commit together, after the attempts' logs (as `settle`).
   */
  record(
    event: NewAsyncEvent,
    ran: { readonly attempts: number; readonly startedAtMs: number },
    settlement: Extract<AsyncSettlement, { kind: 'done' }>,
  ): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Error('The async queue is closed.'))
    }
    const leased: LeasedEvent = {
      ...event,
      leaseToken: randomUUID(),
      attempt: ran.attempts,
      functionErrors: 0,
      systemErrors: 0,
    }
    return new Promise<boolean>((resolve, reject) => {
      const pending: Pending<Settling> = {
        item: { event: leased, settlement, ran: { startedAtMs: ran.startedAtMs } },
        resolve,
        reject,
      }
      const logged = this.#o.logsWritten?.()
      if (logged === undefined) {
        this.#settles.push(pending)
        this.#schedule()
        return
      }
      this.#awaitingLogs.add(pending)
      const join = (): void => {
        if (this.#awaitingLogs.delete(pending)) {
          this.#settles.push(pending)
          this.#schedule()
        }
      }
      logged.then(join, join)
    }).then(() => undefined)
  }

  lease(request: AsyncLeaseRequest): Promise<LeasedEvent[]> {
    // While another store's transaction is open, lease nothing: the dispatcher polls again.
    if (this.#closed || request.max <= 0 || this.#due.size === 0 || this.#db.inTransaction) {
      return Promise.resolve([])
    }
    const out: LeasedEvent[] = []
    const now = request.nowMs
    // Start with a different function each time, so one function's backlog cannot starve others.
    const entries = [...this.#due.entries()]
    const start = this.#rotation++ % entries.length
    const ordered = [...entries.slice(start), ...entries.slice(0, start)]
    this.#db.transaction(() => {
      for (const [functionId, due] of ordered) {
        if (out.length >= request.max) {
          break
        }
        if (due > now) {
          continue
        }
        const room = request.room(functionId)
        if (room <= 0) {
          continue
        }
        const want = Math.min(room, request.max - out.length)
        const rows = this.#stmt.selectDue.all(functionId, now, want) as LeaseRow[]
        for (const r of rows) {
          const token = randomUUID()
          this.#stmt.lease.run(token, now + r.timeout_ms + this.#o.leaseGraceMs, now, r.request_id)
          out.push(leasedEventOf(r, token))
        }
        if (rows.length < want) {
          // Fewer due than asked: learn when this function's next event is due, or forget it.
          const next = (this.#stmt.minDue.get(functionId) as { due: number | null }).due
          if (next === null) {
            this.#due.delete(functionId)
          } else {
            this.#due.set(functionId, next)
          }
        }
      }
    })()
    return Promise.resolve(out)
  }

  recoverLeases(options: {
    readonly nowMs: number
    readonly all: boolean
  }): Promise<RecoveredLease[]> {
    return this.#connectionFree().then(() => this.#recoverLeases(options))
  }

  #recoverLeases(options: { readonly nowMs: number; readonly all: boolean }): RecoveredLease[] {
    this.flush()
    const which = `status = 'RUNNING' and (? = 1 or lease_until < ?)`
    const args = [options.all ? 1 : 0, options.nowMs]
    const recovered = this.#db.transaction(() => {
      const rows = this.#db
        .prepare(
          `select request_id, project_id, function_id, qualifier, attempts, lease_until, timeout_ms
           from async_invocations where ${which}`,
        )
        .all(...args) as Array<{
        request_id: string
        project_id: string
        function_id: string
        qualifier: string
        attempts: number
        lease_until: number
        timeout_ms: number
      }>
      this.#db
        .prepare(
          `update async_invocations
           set status = 'WAIT', system_errors = system_errors + 1, not_before = ?,
               lease_token = null, lease_until = null,
               error_message = 'The attempt was lost (Strato stopped or the worker hung); retrying.'
           where ${which}`,
        )
        .run(options.nowMs, ...args)
      return rows.map((r) => ({
        requestId: r.request_id,
        projectId: r.project_id,
        functionId: r.function_id,
        qualifier: r.qualifier,
        attempt: r.attempts,
        // The lease was taken for the timeout plus the grace (the grace of this run: close enough).
        leasedAtMs: r.lease_until - r.timeout_ms - this.#o.leaseGraceMs,
      }))
    })()
    if (recovered.length > 0) {
      this.#rebuildDue()
      for (const listener of this.#listeners) {
        listener()
      }
    }
    return recovered
  }

  cancel(functionId: string, requestId: string, nowMs: number): Promise<AsyncStatus | undefined> {
    this.flush()
    return Promise.resolve(cancelWaiting(this.#db, functionId, requestId, nowMs))
  }

  list(query: AsyncRecordQuery): Promise<{ records: AsyncRecord[]; total: number }> {
    this.flush()
    return Promise.resolve(listRecords(this.#db, query))
  }

  deadLetters(
    functionId: string,
    offset: number,
    limit: number,
  ): Promise<{ entries: StoredDeadLetter[]; total: number }> {
    this.flush()
    return Promise.resolve(listDeadLetters(this.#db, functionId, offset, limit))
  }

  onReady(listener: () => void): void {
    this.#listeners.push(listener)
  }

  onDeleted(listener: (target: DeletedAsyncTarget) => Promise<void>): void {
    this.#deletedListeners.push(listener)
  }

  /** Starts every listener; what each does before its first `await` is done on return. */
  #tellDeleted(target: DeletedAsyncTarget): Promise<unknown> {
    return Promise.all(this.#deletedListeners.map((listener) => listener(target)))
  }

  async discardDeleted(target: DeletedAsyncTarget): Promise<void> {
    await this.#connectionFree()
    this.flush()
    await this.#tellDeleted(target)
  }

  async leaseDeleted(
    target: DeletedAsyncTarget,
    max: number,
    nowMs: number,
  ): Promise<LeasedEvent[]> {
    await this.#connectionFree()
    if (this.#closed || max <= 0) {
      return []
    }
    this.flush()
    const byQualifier = target.qualifier === undefined ? '' : 'and qualifier = ?'
    const args: Array<string | number> =
      target.qualifier === undefined ? [target.functionId] : [target.functionId, target.qualifier]
    const out: LeasedEvent[] = []
    this.#db.transaction(() => {
      const rows = this.#db
        .prepare(
          `select request_id, project_id, function_id, function_urn, qualifier, payload,
                  timeout_ms, accepted_at, attempts, function_errors, system_errors, traceparent,
                  context_headers_json
           from async_invocations
           where status = 'WAIT' and function_id = ? ${byQualifier}
           order by not_before limit ?`,
        )
        .all(...args, max) as LeaseRow[]
      // Unlike lease(), no attempt is counted and nothing is started: the lease only lets the
      // holder settle the event.
      const take = this.#db.prepare(`update async_invocations
        set status = 'RUNNING', lease_token = ?, lease_until = ?
        where request_id = ? and status = 'WAIT'`)
      for (const r of rows) {
        const token = randomUUID()
        take.run(token, nowMs + r.timeout_ms + this.#o.leaseGraceMs, r.request_id)
        out.push(leasedEventOf(r, token))
      }
    })()
    return out
  }

  async deleteFunction(functionId: string): Promise<void> {
    await this.#connectionFree()
    this.flush()
    // The listeners stop the function's attempts (synchronously) before its rows go.
    const told = this.#tellDeleted({ functionId })
    this.#db.transaction(() => {
      this.#db.prepare(`delete from async_invocations where function_id = ?`).run(functionId)
      this.#db.prepare(`delete from async_dead_letters where function_id = ?`).run(functionId)
    })()
    this.#due.delete(functionId)
    await told
  }

  prune(beforeMs: number): Promise<void> {
    this.flush()
    this.#db
      .prepare(
        `delete from async_invocations
         where status in ('SUCCESS', 'FAIL', 'DISCARD') and ended_at < ?`,
      )
      .run(beforeMs)
    this.#db.prepare(`delete from async_dead_letters where created_at < ?`).run(beforeMs)
    return Promise.resolve()
  }

  /** Writes what is pending; later enqueues are refused and settlements ignored. */
  close(): void {
    if (this.#awaitingLogs.size > 0) {
      this.#o.flushLogs?.()
      this.#settles.push(...this.#awaitingLogs)
      this.#awaitingLogs.clear()
    }
    this.flush()
    this.#closed = true
  }
}
