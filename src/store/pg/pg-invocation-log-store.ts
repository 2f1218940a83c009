/**
 * @module Invocation logs and async status log entries in the shared PostgreSQL store, so every
 * node serves the logs of work that ran on any other (also on one that died). Same semantics as
 * the embedded `InvocationLogStore` (ADR 0008, ADR 0020): appends queue in memory and go out in
 * batches, one transaction each; searches page at a bounded cost with the same cursors.
 */
import type { Kysely } from 'kysely'
import type pg from 'pg'
import {
  type AsyncStatusLogEntry,
  type AsyncStatusLogPage,
  type AsyncStatusLogSearch,
  type FedInvocation,
  type InvocationLogPage,
  type InvocationLogQuery,
  type InvocationLogRepository,
  type InvocationLogSearch,
  type InvocationRecord,
  type StoredInvocation,
} from '../../core/index.js'
import type { Database } from '../database.js'
import {
  fromRow,
  invocationLogFilters,
  requestNarrow,
  statusEntryOf,
  statusLogFilters,
  type LogFilterDialect,
  type StatusRow,
} from '../invocation-log-rows.js'
import {
  INSERT_SQL,
  INSERT_STATUS_SQL,
  logColumns,
  statusColumns,
  type LogRow,
  type PgLogTables,
  type Queued,
} from './pg-invocation-log-rows.js'
import { PgLogSearcher } from './pg-invocation-log-search.js'
import { pgText } from './pg-text.js'

/** How long a batch may wait before it is written; a full batch goes at once. */
const FLUSH_DELAY_MS = 50
const BATCH_ROWS = 500
/** After a failed write, its rows are tried again this much later. */
const RETRY_DELAY_MS = 1_000
/** Rows kept for a store that cannot be reached; past this the oldest are dropped (and said so). */
const MAX_QUEUED_ROWS = 50_000
/**
 * Batches of every node insert under this transaction-scoped advisory lock: positions are then
 * handed out in commit order, so a follow reading past position n never misses a row another
 * node commits later with a smaller one. A batch holds it for one insert and its commit.
 */
const WRITE_LOCK_KEY = 0x5354524c4f47 // "STRLOG"

/** PostgreSQL's side of the shared log filters: a NUL in a filter finds what was stored for it. */
const PG_FILTERS: LogFilterDialect = {
  text: pgText,
  containsSql: "strpos(output, ?) > 0 or strpos(coalesce(error_message, ''), ?) > 0",
}

/**
 * An error of the statement's values (SQLSTATE class 22 data exception, 23 integrity constraint,
 * 54 program limit): the same rows fail again, unlike an unreachable server or a missing table.
 */
function isRowError(err: unknown): boolean {
  const code = (err as { readonly code?: unknown } | null)?.code
  return typeof code === 'string' && /^(?:22|23|54)[0-9A-Z]{3}$/.test(code)
}

interface Dropped {
  readonly count: number
  readonly first: unknown
}

/** Runs each statement under a savepoint; those failing with a row error are skipped. */
async function insertEach(
  client: pg.PoolClient,
  statements: ReadonlyArray<{ readonly sql: string; readonly params: unknown[] }>,
): Promise<Dropped | undefined> {
  let count = 0
  let first: unknown
  for (const { sql, params } of statements) {
    await client.query('savepoint log_row')
    try {
      await client.query(sql, params)
      await client.query('release savepoint log_row')
    } catch (err) {
      if (!isRowError(err)) {
        throw err
      }
      await client.query('rollback to savepoint log_row')
      count++
      first ??= err
    }
  }
  return count === 0 ? undefined : { count, first }
}

/**
 * Appends are queued in memory and written in batches (50 ms or 500 rows, one multi-row insert
 * per table in one transaction), by one write at a time in append order. `whenWritten()`
 * resolves once everything appended before it is committed (or its write failed and was
 * reported); an async settlement waits for it before its commit. Reads write this node's queue
 * first; what other nodes queued shows once their batch commits (≤ 50 ms later).
 */
export class PgInvocationLogStore implements InvocationLogRepository {
  readonly #db: Kysely<Database & PgLogTables>
  readonly #pool: pg.Pool
  readonly #onError: (err: unknown) => void
  readonly #searcher: PgLogSearcher
  readonly #statusSearcher: PgLogSearcher
  #pending: Queued[] = []
  #pendingStatus: AsyncStatusLogEntry[] = []
  #timer: NodeJS.Timeout | undefined
  /** The last write handed over; writes run one after another. */
  #writes: Promise<void> = Promise.resolve()
  #writing = 0
  /** The wait `whenWritten` callers of this turn share. */
  #turnWait: Promise<void> | undefined
  #closed = false

  /** `db` and `pool` are the shared store's (`openPgDatabase`); closing this leaves them open. */
  constructor(db: Kysely<Database>, pool: pg.Pool, onError: (err: unknown) => void) {
    this.#db = db.withTables<PgLogTables>()
    this.#pool = pool
    this.#onError = onError
    this.#searcher = new PgLogSearcher(pool, {
      name: 'invocation_logs',
      partition: 'function_id',
      time: 'started_at',
    })
    this.#statusSearcher = new PgLogSearcher(pool, {
      name: 'async_status_logs',
      partition: 'project_id',
      time: 'at',
    })
  }

  append(record: InvocationRecord, projectId: string, functionId: string): void {
    if (this.#closed) {
      return
    }
    this.#pending.push({ record, projectId, functionId })
    if (this.#pending.length >= BATCH_ROWS) {
      this.#handOver()
    } else {
      this.#schedule(FLUSH_DELAY_MS)
    }
  }

  appendAsyncStatus(entry: AsyncStatusLogEntry): void {
    if (this.#closed) {
      return
    }
    this.#pendingStatus.push(entry)
    this.#schedule(FLUSH_DELAY_MS)
  }

  #schedule(delayMs: number): void {
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.#handOver()
      }, delayMs)
      // close() writes what is queued: the timer never keeps Strato alive.
      this.#timer.unref()
    }
  }

  /** Starts writing what is queued (after the writes already handed over), without waiting. */
  #handOver(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    while (this.#pending.length > 0 || this.#pendingStatus.length > 0) {
      const rows = this.#pending.splice(0, BATCH_ROWS)
      const statusRows = this.#pendingStatus.splice(0, BATCH_ROWS)
      this.#writing++
      this.#writes = this.#writes
        .then(() => this.#write(rows, statusRows))
        .finally(() => this.#writing--)
    }
  }

  async #write(rows: Queued[], statusRows: AsyncStatusLogEntry[]): Promise<void> {
    let failure: unknown
    try {
      await this.#insert(rows, statusRows, false)
      return
    } catch (err) {
      failure = err
    }
    if (isRowError(failure)) {
      // A value PostgreSQL refuses fails its whole batch at every retry, and every entry queued
      // behind it with it: the batch is written again row by row, and only the refused rows go.
      try {
        await this.#insert(rows, statusRows, true)
        return
      } catch (err) {
        failure = err
      }
    }
    this.#report(new Error('writing invocation logs to PostgreSQL failed', { cause: failure }))
    this.#requeue(rows, statusRows)
  }

  /**
   * One transaction: the batch as one insert per table, or (`oneByOne`) each row under its own
   * savepoint, a row PostgreSQL refuses for its values dropped (reported once committed).
   */
  async #insert(
    rows: Queued[],
    statusRows: AsyncStatusLogEntry[],
    oneByOne: boolean,
  ): Promise<void> {
    let client: pg.PoolClient | undefined
    try {
      client = await this.#pool.connect()
      await client.query('begin')
      // The lock is held until the commit: without waiting for its WAL flush, the cluster's
      // batches queue behind an insert, not behind an fsync (15k → 23k rows/s, three writers,
      // measured). WAL is one stream: the async queue's settlement, committed synchronously after
      // `whenWritten`, flushes this batch with it, so a log is never less durable than its
      // settlement; a server crash may lose the last ~0.6 s of logs otherwise, as the embedded
      // store's crash loses its last batch.
      await client.query('set local synchronous_commit = off')
      await client.query('select pg_advisory_xact_lock($1)', [WRITE_LOCK_KEY])
      let dropped: Dropped | undefined
      if (oneByOne) {
        dropped = await insertEach(client, [
          ...rows.map((r) => ({ sql: INSERT_SQL, params: logColumns([r]) })),
          ...statusRows.map((r) => ({ sql: INSERT_STATUS_SQL, params: statusColumns([r]) })),
        ])
      } else {
        if (rows.length > 0) {
          await client.query(INSERT_SQL, logColumns(rows))
        }
        if (statusRows.length > 0) {
          await client.query(INSERT_STATUS_SQL, statusColumns(statusRows))
        }
      }
      await client.query('commit')
      if (dropped !== undefined) {
        this.#report(
          new Error(`PostgreSQL refused ${dropped.count} log entries: dropped`, {
            cause: dropped.first,
          }),
        )
      }
    } catch (err) {
      await client?.query('rollback').catch(() => undefined)
      throw err
    } finally {
      client?.release()
    }
  }

  /** Keeps a failed batch for the next write (a store that is briefly away loses nothing). */
  #requeue(rows: Queued[], statusRows: AsyncStatusLogEntry[]): void {
    if (this.#closed) {
      return
    }
    this.#pending = rows.concat(this.#pending)
    this.#pendingStatus = statusRows.concat(this.#pendingStatus)
    const excess =
      Math.max(0, this.#pending.length - MAX_QUEUED_ROWS) +
      Math.max(0, this.#pendingStatus.length - MAX_QUEUED_ROWS)
    if (excess > 0) {
      this.#pending = this.#pending.slice(-MAX_QUEUED_ROWS)
      this.#pendingStatus = this.#pendingStatus.slice(-MAX_QUEUED_ROWS)
      this.#report(new Error(`PostgreSQL unreachable: ${excess} queued log entries dropped`))
    }
    this.#schedule(RETRY_DELAY_MS)
  }

  /** Resolves once every write handed over so far has ended. */
  #settled(): Promise<void> {
    this.#handOver()
    return this.#writes
  }

  /**
   * Starts writing what is queued. PostgreSQL cannot be waited for synchronously: `close()` (or
   * `whenWritten()`) is what waits; shutdown calls it after this.
   */
  flush(): void {
    this.#handOver()
  }

  /**
   * Resolves once every entry appended so far (and in this event-loop turn) is committed. The
   * calls of one turn share one write: the async queue asks this per settlement.
   */
  whenWritten(): Promise<void> {
    if (this.#turnWait !== undefined) {
      return this.#turnWait
    }
    if (this.#pending.length === 0 && this.#pendingStatus.length === 0 && this.#writing === 0) {
      return Promise.resolve()
    }
    const wait = new Promise<void>((resolve) => {
      setImmediate(() => {
        this.#turnWait = undefined
        void this.#settled().then(resolve)
      })
    })
    this.#turnWait = wait
    return wait
  }

  async list(query: InvocationLogQuery): Promise<StoredInvocation[]> {
    await this.#settled()
    let q = this.#db
      .selectFrom('invocation_logs')
      .selectAll()
      .where('function_id', '=', query.functionId)
    if (query.requestId !== undefined) {
      q = q.where('request_id', '=', pgText(query.requestId))
    }
    const rows = await q
      .orderBy('started_at', 'desc')
      .orderBy('attempt', 'desc')
      .limit(query.limit)
      .execute()
    return rows.map(fromRow)
  }

  async search(query: InvocationLogSearch): Promise<InvocationLogPage> {
    await this.#settled()
    const page = await this.#searcher.run<LogRow>({
      partitionValue: query.functionId,
      fromMs: query.fromMs,
      toMs: query.toMs,
      filters: invocationLogFilters(query, PG_FILTERS),
      narrow: requestNarrow(query.requestId, PG_FILTERS),
      order: query.order,
      cursor: query.cursor,
      limit: query.limit,
    })
    return {
      entries: page.rows.map((r) => ({ position: r.cursor, entry: fromRow(r) })),
      next: page.next,
    }
  }

  async searchAsyncStatus(query: AsyncStatusLogSearch): Promise<AsyncStatusLogPage> {
    await this.#settled()
    const page = await this.#statusSearcher.run<StatusRow>({
      partitionValue: query.projectId,
      fromMs: query.fromMs,
      toMs: query.toMs,
      filters: statusLogFilters(query, PG_FILTERS),
      order: query.order,
      cursor: query.cursor,
      limit: query.limit,
    })
    return {
      entries: page.rows.map((r) => ({ position: r.cursor, entry: statusEntryOf(r) })),
      next: page.next,
    }
  }

  /** The function's entries after `after` (a position: commit order across nodes), oldest first. */
  async readAfter(
    functionId: string,
    after: string | undefined,
    sinceMs: number,
    limit: number,
  ): Promise<FedInvocation[]> {
    await this.#settled()
    const from = Number(after ?? 0)
    const rows = await this.#db
      .selectFrom('invocation_logs')
      .selectAll()
      .where('function_id', '=', functionId)
      .where('position', '>', Number.isSafeInteger(from) ? from : 0)
      .where('started_at', '>=', sinceMs)
      .orderBy('position')
      .limit(limit)
      .execute()
    return rows.map((r) => ({ position: String(r.position), entry: fromRow(r) }))
  }

  /** Deletes a function's logs (on function delete) and logs older than `before`. */
  async prune(options: { functionId?: string; before?: Date }): Promise<void> {
    await this.#settled()
    const db = this.#db
    if (options.functionId !== undefined) {
      await db.deleteFrom('invocation_logs').where('function_id', '=', options.functionId).execute()
      await db
        .deleteFrom('async_status_logs')
        .where('function_id', '=', options.functionId)
        .execute()
    }
    if (options.before !== undefined) {
      const before = options.before.getTime()
      await db.deleteFrom('invocation_logs').where('started_at', '<', before).execute()
      await db.deleteFrom('async_status_logs').where('at', '<', before).execute()
    }
  }

  /** A reporter that throws must not break the chain of writes (every later read waits on it). */
  #report(err: Error): void {
    try {
      this.#onError(err)
    } catch {
      // Reported as far as it could be.
    }
  }

  /** Writes what is queued; the pool stays open (the shared store closes it). */
  async close(): Promise<void> {
    if (this.#closed) {
      return
    }
    await this.#settled()
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    const lost = this.#pending.length + this.#pendingStatus.length
    if (lost > 0) {
      // Their write failed just now (reported): nobody is left to retry them.
      this.#report(new Error(`${lost} log entries not written before close`))
    }
  }
}
