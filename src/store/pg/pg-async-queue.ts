/**
 * @module PgAsyncQueue: the cluster's AsyncQueue (ADR 0026), two tables in the shared PostgreSQL.
 * Every node enqueues, leases (`FOR UPDATE SKIP LOCKED`) and settles on the same rows; a lease
 * names its node, so a node recovers its own leases at start and anyone's once they expired.
 * Accepted events of one event-loop turn are group-committed (one multi-row insert), and an
 * enqueue resolves only once that commit is done.
 */
import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type pg from 'pg'
import {
  StratoError,
  type AsyncBacklog,
  type AsyncLeaseRequest,
  type AsyncQueue,
  type AsyncRecord,
  type AsyncRecordQuery,
  type AsyncRecordRepository,
  type AsyncSettlement,
  type AsyncStatus,
  type DeletedAsyncTarget,
  type LeasedEvent,
  type NewAsyncEvent,
  type RecoveredLease,
  type StoredDeadLetter,
} from '../../core/index.js'
import type { Database } from '../database.js'
import { cancelWaiting, listDeadLetters, listRecords } from './pg-async-records.js'
import {
  eventArrays,
  INSERT_EVENTS,
  LEASE_DELETED,
  LEASE_DUE,
  leasedEventOfRow,
  RECOVER,
  WAITING_FUNCTIONS,
  type PgLeaseRow,
} from './pg-async-sql.js'
import { PgAsyncListener } from './pg-async-listener.js'
import { applySettlements, pgEvent, type Queryable, type Settling } from './pg-async-settle.js'
import { pgText } from './pg-text.js'
import type { PgAsyncTables } from './pg-async-tables.js'

export interface PgAsyncQueueOptions {
  /** This node: its leases carry it, and `recoverLeases({ all: true })` takes only those. */
  readonly nodeId: string
  /**
   * A lease lasts the function's timeout plus this; a worker that has not settled by then is
   * presumed dead (its node too, maybe) and any node redelivers the event.
   */
  readonly leaseGraceMs: number
  readonly onError: (err: unknown) => void
  /**
   * Resolves once every invocation log appended so far is written. A settlement waits for it
   * before it joins a commit, so an attempt's log is never later than its settlement.
   */
  readonly logsWritten: () => Promise<void>
  /**
   * The NOTIFY channel enqueues wake the cluster's nodes on; by default `strato_async_<schema>`,
   * so two clusters on one server (in two schemas) do not wake each other.
   */
  readonly channel?: string
  /** How often the backlog figure (`backlog()`) is read again; 5 s by default. */
  readonly backlogRefreshMs?: number
  /** Commits in flight at once; what arrives meanwhile waits and joins the next one. Default 4. */
  readonly maxCommits?: number
}

interface Pending<T> {
  readonly item: T
  readonly resolve: (value: boolean) => void
  readonly reject: (err: unknown) => void
}

function closedError(): StratoError {
  return new StratoError('SERVICE_UNAVAILABLE', 'The async queue is closed: this node is stopping.')
}

/** Payload bytes one group commit writes at most; the rest goes in the next one. */
const MAX_COMMIT_PAYLOAD_BYTES = 32 * 1024 * 1024
/** Settlements one commit writes at most (each may be a statement of its own). */
const MAX_SETTLES_PER_COMMIT = 1_000

/** The queue and its records (one pair of tables), and the backlog figure of `/metrics`. */
export class PgAsyncQueue implements AsyncQueue, AsyncRecordRepository, AsyncBacklog {
  readonly #db: Kysely<PgAsyncTables>
  readonly #pool: pg.Pool
  readonly #o: PgAsyncQueueOptions
  readonly #listeners: Array<() => void> = []
  readonly #deletedListeners: Array<(target: DeletedAsyncTarget) => Promise<void>> = []
  #enqueues: Array<Pending<NewAsyncEvent>> = []
  #settles: Array<Pending<Settling>> = []
  /** Settlements whose attempt's log is not yet confirmed written (`logsWritten`). */
  readonly #awaitingLogs = new Set<Promise<void>>()
  readonly #commits = new Set<Promise<void>>()
  #scheduled = false
  #closed = false
  #rotation = 0
  #channel: string | undefined
  readonly #listener: PgAsyncListener
  #backlog: { waiting: number; oldestAcceptedAtMs: number | undefined } = {
    waiting: 0,
    oldestAcceptedAtMs: undefined,
  }
  readonly #backlogTimer: NodeJS.Timeout
  readonly #started: Promise<void>

  /**
   * `db` is the store's Kysely over `pool`: its `Database` type describes the SQLite tables of
   * the same names, these are the PostgreSQL ones (migration 0005), read through their own type.
   */
  constructor(db: Kysely<Database>, pool: pg.Pool, options: PgAsyncQueueOptions) {
    this.#db = db as unknown as Kysely<PgAsyncTables>
    this.#pool = pool
    this.#o = options
    this.#channel = options.channel
    this.#listener = new PgAsyncListener(
      pool,
      () => this.#channelName(),
      () => this.#wake(),
      options.onError,
    )
    this.#started = this.#start()
    this.#started.catch((err: unknown) => this.#o.onError(err))
    this.#backlogTimer = setInterval(() => {
      this.refreshBacklog().catch((err: unknown) => this.#o.onError(err))
    }, options.backlogRefreshMs ?? 5_000)
    this.#backlogTimer.unref()
  }

  async #start(): Promise<void> {
    await this.#channelName()
    await Promise.all([this.#listener.start(), this.refreshBacklog()])
  }

  /** The NOTIFY channel, named from the schema on first use (read again if that read failed). */
  async #channelName(): Promise<string> {
    if (this.#channel === undefined) {
      const { rows } = await this.#pool.query<{ schema: string }>(
        'select current_schema() as schema',
      )
      this.#channel = `strato_async_${rows[0]?.schema ?? 'public'}`.slice(0, 63)
    }
    return this.#channel
  }

  /** Resolves once this node hears other nodes' enqueues and the backlog figure was read. */
  started(): Promise<void> {
    return this.#started
  }

  #wake(): void {
    for (const listener of this.#listeners) {
      listener()
    }
  }

  /** Reads the backlog figure now (also every `backlogRefreshMs`). */
  async refreshBacklog(): Promise<void> {
    const { rows } = await this.#pool.query<{ waiting: number; oldest: number | null }>(
      `select count(*)::int8 as waiting, min(accepted_at) as oldest from async_invocations
       where status = 'WAIT'`,
    )
    const row = rows[0]
    this.#backlog = { waiting: row?.waiting ?? 0, oldestAcceptedAtMs: row?.oldest ?? undefined }
  }

  /** The last figure read (every `backlogRefreshMs`): the port is synchronous, PostgreSQL not. */
  backlog(): { readonly waiting: number; readonly oldestAcceptedAtMs: number | undefined } {
    return this.#backlog
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true
      // One commit per event-loop turn: every request parsed in this turn shares it.
      setImmediate(() => {
        this.#scheduled = false
        this.#pump()
      })
    }
  }

  /** Starts a commit of everything pending, unless `maxCommits` are in flight already. */
  #pump(): void {
    while (
      this.#commits.size < (this.#o.maxCommits ?? 4) &&
      (this.#enqueues.length > 0 || this.#settles.length > 0)
    ) {
      const enqueues = this.#takeEnqueues()
      const settles = this.#settles.splice(0, MAX_SETTLES_PER_COMMIT)
      const commit = this.#commit(enqueues, settles).finally(() => {
        this.#commits.delete(commit)
        this.#pump()
      })
      this.#commits.add(commit)
    }
    // At the limit, the commit in flight that ends first takes what is pending then.
  }

  /**
   * The pending events one commit takes: all of them up to MAX_COMMIT_PAYLOAD_BYTES of payload
   * (a statement's parameter cannot exceed 1 GiB; 2,000 events of 256 KiB accepted in one turn
   * would), at least one.
   */
  #takeEnqueues(): Array<Pending<NewAsyncEvent>> {
    let bytes = 0
    let n = 0
    while (n < this.#enqueues.length) {
      bytes += this.#enqueues[n]?.item.payload.length ?? 0
      if (n > 0 && bytes > MAX_COMMIT_PAYLOAD_BYTES) {
        break
      }
      n++
    }
    return this.#enqueues.splice(0, n)
  }

  /** Resolves once everything pending now is committed (or failed). */
  async #idle(): Promise<void> {
    this.#pump()
    while (this.#commits.size > 0) {
      await Promise.all(this.#commits)
      this.#pump()
    }
  }

  async #commit(
    enqueues: ReadonlyArray<Pending<NewAsyncEvent>>,
    settles: ReadonlyArray<Pending<Settling>>,
  ): Promise<void> {
    let results: boolean[]
    try {
      const channel = await this.#channelName()
      results = await this.#transaction(async (client) => {
        if (enqueues.length > 0) {
          await client.query(INSERT_EVENTS, eventArrays(enqueues.map((p) => pgEvent(p.item))))
        }
        const out = await applySettlements(
          client,
          settles.map((p) => p.item),
          this.#o.nodeId,
        )
        const follows = settles.some(
          (s, i) =>
            out[i] === true &&
            s.item.settlement.kind === 'done' &&
            s.item.settlement.enqueue.length > 0,
        )
        if (enqueues.length > 0 || follows) {
          // Delivered at commit, to every node listening (this one too).
          await client.query('select pg_notify($1, $2)', [channel, ''])
        }
        return out
      })
    } catch (err) {
      // Nothing of it is known to be committed (a commit cut off midway may have been: an event
      // then runs once its 503 was answered, at least once as always).
      const failed = new StratoError(
        'SERVICE_UNAVAILABLE',
        'The async queue could not commit to PostgreSQL.',
        { cause: err },
      )
      for (const p of [...enqueues, ...settles]) {
        p.reject(failed)
      }
      this.#o.onError(err)
      return
    }
    for (const p of enqueues) {
      p.resolve(true)
    }
    settles.forEach((p, i) => p.resolve(results[i] ?? false))
    // A terminal settlement frees room for the function here: no need to wait for the NOTIFY.
    if (enqueues.length > 0 || settles.some((s) => s.item.settlement.kind === 'done')) {
      this.#wake()
    }
  }

  async #transaction<T>(work: (client: Queryable) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect()
    try {
      await client.query('begin')
      const result = await work(client)
      await client.query('commit')
      client.release()
      return result
    } catch (err) {
      // A connection that cannot even roll back is broken: destroyed, not returned to the pool.
      const rolledBack = await client.query('rollback').then(
        () => true,
        () => false,
      )
      client.release(!rolledBack)
      throw err
    }
  }

  enqueue(event: NewAsyncEvent): Promise<void> {
    if (this.#closed) {
      return Promise.reject(closedError())
    }
    return new Promise<boolean>((resolve, reject) => {
      this.#enqueues.push({ item: event, resolve, reject })
      this.#schedule()
    }).then(() => undefined)
  }

  /** Joins the next commit once the attempt's logs are written. */
  #settleAfterLogs(item: Settling): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const join = (): void => {
        this.#settles.push({ item, resolve, reject })
        this.#schedule()
      }
      // A log that could not be written is reported by the log store; the settlement still counts.
      const logged = this.#o.logsWritten().then(join, join)
      this.#awaitingLogs.add(logged)
      void logged.finally(() => this.#awaitingLogs.delete(logged))
    })
  }

  settle(event: LeasedEvent, settlement: AsyncSettlement): Promise<boolean> {
    if (this.#closed) {
      return Promise.resolve(false)
    }
    return this.#settleAfterLogs({ event, settlement })
  }

  /**
   * Records an event a trigger source ran itself (a broker's batch) once it ended, after
   * `attempts` attempts: its record, destination events and dead letter commit together, after
   * the attempts' logs (as `settle`).
   */
  record(
    event: NewAsyncEvent,
    ran: { readonly attempts: number; readonly startedAtMs: number },
    settlement: Extract<AsyncSettlement, { kind: 'done' }>,
  ): Promise<void> {
    if (this.#closed) {
      return Promise.reject(closedError())
    }
    const leased: LeasedEvent = {
      ...event,
      leaseToken: randomUUID(),
      attempt: ran.attempts,
      functionErrors: 0,
      systemErrors: 0,
    }
    return this.#settleAfterLogs({
      event: leased,
      settlement,
      ran: { startedAtMs: ran.startedAtMs },
    }).then(() => undefined)
  }

  async lease(request: AsyncLeaseRequest): Promise<LeasedEvent[]> {
    if (this.#closed || request.max <= 0) {
      return []
    }
    const now = request.nowMs
    const { rows: waiting } = await this.#pool.query<{ function_id: string; due: number }>(
      WAITING_FUNCTIONS,
    )
    const due = waiting.filter((w) => w.due <= now).map((w) => w.function_id)
    if (due.length === 0) {
      return []
    }
    // Start with a different function each time, so one function's backlog cannot starve others.
    const start = this.#rotation++ % due.length
    const ordered = [...due.slice(start), ...due.slice(0, start)]
    const ids: string[] = []
    const wants: number[] = []
    for (const functionId of ordered) {
      const want = Math.min(request.room(functionId), request.max)
      if (want > 0) {
        ids.push(functionId)
        wants.push(want)
      }
    }
    if (ids.length === 0) {
      return []
    }
    const { rows } = await this.#pool.query<PgLeaseRow>(LEASE_DUE, [
      ids,
      wants,
      now,
      this.#o.leaseGraceMs,
      this.#o.nodeId,
      request.max,
    ])
    const rank = new Map(ids.map((id, i) => [id, i]))
    rows.sort(
      (a, b) =>
        (rank.get(a.function_id) ?? 0) - (rank.get(b.function_id) ?? 0) ||
        a.not_before - b.not_before ||
        a.accepted_at - b.accepted_at,
    )
    return rows.map((r) => leasedEventOfRow(r, true))
  }

  /**
   * `all` (at start): this node's RUNNING events, whose process is gone; other nodes' leases are
   * theirs (they are alive). Otherwise anyone's lease that ended before `nowMs`: a node killed
   * mid-attempt has its events redelivered by the others.
   */
  async recoverLeases(options: {
    readonly nowMs: number
    readonly all: boolean
  }): Promise<RecoveredLease[]> {
    await this.#idle()
    const { rows } = await this.#pool.query<{
      request_id: string
      project_id: string
      function_id: string
      qualifier: string
      attempts: number
      leased_at: number | null
      lease_until: number | null
      timeout_ms: number
      lease_owner: string | null
    }>(RECOVER, [options.nowMs, options.all, this.#o.nodeId])
    if (rows.length > 0) {
      this.#wake()
    }
    return rows.map((r) => ({
      requestId: r.request_id,
      projectId: r.project_id,
      functionId: r.function_id,
      qualifier: r.qualifier,
      attempt: r.attempts,
      leasedAtMs: r.leased_at ?? (r.lease_until ?? 0) - r.timeout_ms - this.#o.leaseGraceMs,
      owner: r.lease_owner ?? undefined,
    }))
  }

  cancel(functionId: string, requestId: string, nowMs: number): Promise<AsyncStatus | undefined> {
    return cancelWaiting(this.#db, functionId, pgText(requestId), nowMs)
  }

  list(query: AsyncRecordQuery): Promise<{ records: AsyncRecord[]; total: number }> {
    // A request id from a URL may hold a NUL: it finds what was stored in its place.
    return listRecords(
      this.#db,
      query.requestId === undefined ? query : { ...query, requestId: pgText(query.requestId) },
    )
  }

  deadLetters(
    functionId: string,
    offset: number,
    limit: number,
  ): Promise<{ entries: StoredDeadLetter[]; total: number }> {
    return listDeadLetters(this.#db, functionId, offset, limit)
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
    await this.#idle()
    await this.#tellDeleted(target)
  }

  async leaseDeleted(
    target: DeletedAsyncTarget,
    max: number,
    nowMs: number,
  ): Promise<LeasedEvent[]> {
    if (this.#closed || max <= 0) {
      return []
    }
    await this.#idle()
    const { rows } = await this.#pool.query<PgLeaseRow>(LEASE_DELETED, [
      target.functionId,
      target.qualifier ?? null,
      max,
      nowMs,
      this.#o.leaseGraceMs,
      this.#o.nodeId,
    ])
    rows.sort((a, b) => a.not_before - b.not_before)
    // Unlike lease(), no attempt is counted: the lease only lets the holder settle the event.
    return rows.map((r) => leasedEventOfRow(r, false))
  }

  async deleteFunction(functionId: string): Promise<void> {
    await this.#idle()
    // The listeners stop the function's attempts (synchronously) before its rows go.
    const told = this.#tellDeleted({ functionId })
    await this.#transaction(async (client) => {
      await client.query('delete from async_invocations where function_id = $1', [functionId])
      await client.query('delete from async_dead_letters where function_id = $1', [functionId])
    })
    await told
  }

  async prune(beforeMs: number): Promise<void> {
    await this.#pool.query(
      `delete from async_invocations
       where status in ('SUCCESS', 'FAIL', 'DISCARD') and ended_at < $1`,
      [beforeMs],
    )
    await this.#pool.query('delete from async_dead_letters where created_at < $1', [beforeMs])
  }

  /**
   * Commits what is pending (settlements waiting for their logs included); later enqueues are
   * refused and settlements ignored. The pool stays open: it is the store's.
   */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#backlogTimer)
    await this.#started.catch(() => undefined)
    await Promise.all(this.#awaitingLogs)
    await this.#idle()
    this.#listener.close()
  }
}
