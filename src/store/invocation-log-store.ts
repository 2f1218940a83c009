/**
 * @module Per-invocation logs, in their own SQLite file (`logs.db`): appended in batches that a
 * worker thread writes, read here by function and request id (ADR 0008).
 */
import { createRequire } from 'node:module'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect, type Selectable } from 'kysely'
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
} from '../core/index.js'
import type { InvocationLogsTable, LogsDatabase } from './database.js'
import {
  fromRow,
  invocationLogFilters,
  requestNarrow,
  statusEntryOf,
  statusLogFilters,
  type LogFilterDialect,
  type StatusRow,
} from './invocation-log-rows.js'
import { LogSearcher } from './log-search.js'

/** How long a batch may wait before it goes to the writer; a full batch goes at once. */
const FLUSH_DELAY_MS = 50
const BATCH_ROWS = 500
/** A synchronous flush waits this long for the writer before it reports the writer as stuck. */
const SYNC_FLUSH_WAIT_MS = 10_000
/** More writer deaths than this within the window and logs are given up on (see #startWriter). */
const MAX_RESTARTS = 3
const RESTART_WINDOW_MS = 10_000

const WRITER_SCRIPT = new URL('./invocation-log-writer.js', import.meta.url)
const SQLITE_MODULE = createRequire(import.meta.url).resolve('better-sqlite3')

const COLUMNS = `request_id, attempt, project_id, function_id, version, started_at, duration_ms,
  billed_ms, memory_size_mb, memory_used_mb, error_type, error_message, output`

const SCHEMA_SQL = `
  create table if not exists invocation_logs (
    request_id text not null,
    attempt integer not null,
    project_id text not null,
    function_id text not null,
    version text not null,
    started_at integer not null,
    duration_ms real not null,
    billed_ms integer not null,
    memory_size_mb integer not null,
    memory_used_mb real not null,
    error_type text,
    error_message text,
    output text not null,
    constraint invocation_logs_pk primary key (request_id, attempt)
  );
  create index if not exists invocation_logs_by_function
    on invocation_logs (function_id, started_at);
  -- A follow reads a function's rows in write order: (function_id, rowid).
  create index if not exists invocation_logs_by_function_position
    on invocation_logs (function_id);
  create table if not exists async_status_logs (
    project_id text not null,
    function_id text not null,
    function_urn text not null,
    request_id text not null,
    status text not null,
    attempts integer not null,
    at integer not null,
    error_code integer not null,
    message text not null
  );
  create index if not exists async_status_logs_by_project
    on async_status_logs (project_id, at);
  create index if not exists async_status_logs_by_project_position
    on async_status_logs (project_id);`

/**
 * The logger levels an entry's lines carry, as a bit mask (bit i: LOG_LEVELS[i]); computed by the
 * writer thread from the output (see invocation-log-writer.js). Rows written before the column
 * existed get it from a plainer test when it is added.
 */
const ADD_LEVELS_SQL = `alter table invocation_logs add column levels integer;
  update invocation_logs set levels =
    (instr(output, ' DEBUG ') > 0) * 1 | (instr(output, ' INFO ') > 0) * 2 |
    (instr(output, ' WARN') > 0) * 4 | (instr(output, ' ERROR ') > 0 or error_type is not null) * 8;`

/** The writer appends `levels`, which it computes, as the 14th value. */
const INSERT_SQL = `insert or ignore into invocation_logs (${COLUMNS}, levels)
  values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const STATUS_COLUMNS = `project_id, function_id, function_urn, request_id, status, attempts, at,
  error_code, message`
const INSERT_STATUS_SQL = `insert into async_status_logs (${STATUS_COLUMNS})
  values (?, ?, ?, ?, ?, ?, ?, ?, ?)`

/** SQLite's side of the shared log filters. */
const SQLITE_FILTERS: LogFilterDialect = {
  text: (value) => value,
  containsSql: "instr(output, ?) > 0 or instr(coalesce(error_message, ''), ?) > 0",
}

/** One row as the writer binds it: the columns of `COLUMNS`, in order. */
type LogRow = readonly [
  string,
  number,
  string,
  string,
  string,
  number,
  number,
  number,
  number,
  number,
  string | null,
  string | null,
  string,
]

type WriterMessage =
  | { readonly rows: readonly LogRow[] }
  | { readonly statusRows: readonly unknown[][] }
  | { readonly prune: { readonly functionId?: string; readonly before?: number } }
  | { readonly done: Int32Array }
  | { readonly ack: number }
  | { readonly close: true }

/**
 * Data dirs from before `logs.db` kept the logs in `strato.db`: they are copied over once (a copy
 * interrupted by a crash is simply done again: duplicates are ignored) and the old table dropped.
 */
function moveLegacyLogs(logs: SQLite.Database, main: SQLite.Database, mainFile: string): void {
  const legacy = main
    .prepare("select 1 from sqlite_master where type = 'table' and name = 'invocation_logs'")
    .get()
  if (legacy === undefined) {
    return
  }
  logs.prepare('attach database ? as legacy').run(mainFile)
  try {
    logs.exec(
      `insert or ignore into invocation_logs (${COLUMNS}) select ${COLUMNS} from legacy.invocation_logs`,
    )
  } finally {
    logs.exec('detach database legacy')
  }
  main.exec('drop table invocation_logs')
}

/**
 * Appends are queued in memory and handed to the writer thread in batches (one transaction each),
 * so the event loop spends no time in SQLite for them. `whenWritten()` resolves once the writer has
 * written everything appended so far; an async settlement waits for it before its commit, so an
 * attempt's log is on disk no later than its settlement. `flush()` is the same, blocking, for
 * shutdown. A crash loses at most the last batch.
 */
export class InvocationLogStore implements InvocationLogRepository {
  readonly #file: string
  readonly #writerScript: URL
  readonly #reader: SQLite.Database
  readonly #db: Kysely<LogsDatabase>
  readonly #onError: (err: unknown) => void
  readonly #readAfter: SQLite.Statement
  readonly #searcher: LogSearcher
  readonly #statusSearcher: LogSearcher
  #pendingStatus: unknown[][] = []
  #writer: Worker
  /** The current writer thread has ended (only until a new one is started). */
  #writerExited = false
  /** When writers died lately, and whether Strato gave up on writing logs. */
  #restarts: number[] = []
  #failed = false
  #pending: LogRow[] = []
  #timer: NodeJS.Timeout | undefined
  /** Messages handed to the writer, and how many of them it has confirmed as done. */
  #posted = 0
  #confirmed = 0
  /** Waiters for the writer's `{ ack }` answers, by number. */
  readonly #acks = new Map<number, () => void>()
  #lastAck = 0
  /** The wait `whenWritten` callers of this turn share. */
  #turnWait: Promise<void> | undefined
  #closed = false

  /**
   * Opens `<dataDir>/logs.db`, moving logs still kept in `strato.db` (`main`) into it.
   * `writerScript` replaces the writer thread's program (tests give it one that fails).
   */
  constructor(
    dataDir: string,
    main: SQLite.Database,
    onError: (err: unknown) => void,
    writerScript: URL = WRITER_SCRIPT,
  ) {
    this.#writerScript = writerScript
    this.#file = path.join(dataDir, 'logs.db')
    this.#onError = onError
    this.#reader = new SQLite(this.#file)
    this.#reader.pragma('journal_mode = WAL')
    this.#reader.pragma('busy_timeout = 5000')
    this.#reader.exec(SCHEMA_SQL)
    moveLegacyLogs(this.#reader, main, main.name)
    const columns = this.#reader.pragma('table_info(invocation_logs)') as Array<{ name: string }>
    if (!columns.some((c) => c.name === 'levels')) {
      this.#reader.transaction(() => this.#reader.exec(ADD_LEVELS_SQL))()
    }
    this.#searcher = new LogSearcher(this.#reader, {
      name: 'invocation_logs',
      partition: 'function_id',
      time: 'started_at',
    })
    this.#statusSearcher = new LogSearcher(this.#reader, {
      name: 'async_status_logs',
      partition: 'project_id',
      time: 'at',
    })
    this.#db = new Kysely<LogsDatabase>({ dialect: new SqliteDialect({ database: this.#reader }) })
    this.#readAfter = this.#reader.prepare(
      `select rowid as position, * from invocation_logs
        where function_id = ? and rowid > ? and started_at >= ? order by rowid limit ?`,
    )
    this.#writer = this.#startWriter()
  }

  #startWriter(): Worker {
    this.#writerExited = false
    const writer = new Worker(this.#writerScript, {
      workerData: {
        file: this.#file,
        sqliteModule: SQLITE_MODULE,
        insertSql: INSERT_SQL,
        insertStatusSql: INSERT_STATUS_SQL,
      },
    })
    writer.on('message', (m: { error?: string; ack?: number }) => {
      if (m.error !== undefined) {
        this.#onError(new Error(`invocation log writer: ${m.error}`))
      }
      if (m.ack !== undefined) {
        const resolve = this.#acks.get(m.ack)
        this.#acks.delete(m.ack)
        resolve?.()
      }
    })
    writer.on('error', (err) => this.#onError(err))
    writer.on('exit', (code) => {
      if (this.#writer !== writer) {
        return
      }
      this.#writerExited = true
      // Batches it had not written are lost, as in a crash: nobody waits for them any longer.
      this.#confirmed = this.#posted
      for (const resolve of this.#acks.values()) {
        resolve()
      }
      this.#acks.clear()
      if (this.#closed) {
        return
      }
      const now = Date.now()
      this.#restarts = [...this.#restarts.filter((t) => now - t < RESTART_WINDOW_MS), now]
      if (this.#restarts.length > MAX_RESTARTS) {
        // A writer that cannot even start (disk full, an unreadable file) is not restarted in a
        // loop: logs are dropped from now on, and said so once.
        this.#failed = true
        this.#pending = []
        this.#onError(
          new Error(
            `invocation log writer exited (code ${code}) ${this.#restarts.length} times in ${RESTART_WINDOW_MS / 1000} s; invocation logs are no longer written`,
          ),
        )
        return
      }
      this.#onError(new Error(`invocation log writer exited (code ${code}); starting another`))
      this.#writer = this.#startWriter()
    })
    // The writer never keeps Strato alive; close() finishes its work first.
    writer.unref()
    return writer
  }

  #post(message: WriterMessage): void {
    this.#writer.postMessage(message)
    this.#posted++
  }

  append(record: InvocationRecord, projectId: string, functionId: string): void {
    if (this.#failed) {
      return
    }
    this.#pending.push([
      record.requestId,
      record.attempt ?? 1,
      projectId,
      functionId,
      record.version,
      record.startedAtMs,
      record.durationMs,
      record.billedDurationMs,
      record.memorySizeMb,
      record.memoryUsedMb,
      record.errorType ?? null,
      record.errorMessage ?? null,
      record.output,
    ])
    if (this.#pending.length >= BATCH_ROWS) {
      this.#handOver()
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.#handOver()
      }, FLUSH_DELAY_MS)
    }
  }

  appendAsyncStatus(e: AsyncStatusLogEntry): void {
    if (this.#failed) {
      return
    }
    this.#pendingStatus.push([
      e.projectId,
      e.functionId,
      e.functionUrn,
      e.requestId,
      e.status,
      e.attempts,
      e.atMs,
      e.errorCode,
      e.message,
    ])
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.#handOver()
      }, FLUSH_DELAY_MS)
    }
  }

  /** Gives what is queued to the writer, without waiting for it. */
  #handOver(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    if (this.#pendingStatus.length > 0) {
      const statusRows = this.#pendingStatus
      this.#pendingStatus = []
      this.#post({ statusRows })
    }
    if (this.#pending.length === 0) {
      return
    }
    const rows = this.#pending
    this.#pending = []
    this.#post({ rows })
  }

  /**
   * Returns once every log appended so far is committed. It blocks the event loop for as long as
   * the writer needs, so it is for shutdown; the async queue uses `whenWritten`, reads `#settled`.
   * (A writer that died holding rows is replaced; those rows are lost, as in a crash.)
   */
  flush(): void {
    const upTo = this.#toConfirm()
    if (upTo === undefined) {
      return
    }
    const done = new Int32Array(new SharedArrayBuffer(4))
    this.#writer.postMessage({ done } satisfies WriterMessage)
    const outcome = Atomics.wait(done, 0, 0, SYNC_FLUSH_WAIT_MS)
    if (outcome !== 'timed-out') {
      this.#confirmed = Math.max(this.#confirmed, upTo)
    } else {
      this.#reportUnconfirmed()
    }
  }

  /**
   * Hands over what is queued and returns how many messages the writer must confirm, or undefined
   * when there is nothing to wait for (a writer that has ended can confirm nothing: waiting would
   * only hold the caller).
   */
  #toConfirm(): number | undefined {
    this.#handOver()
    const upTo = this.#posted
    return this.#confirmed >= upTo || this.#closed || this.#writerExited ? undefined : upTo
  }

  #reportUnconfirmed(): void {
    this.#onError(
      new Error(`invocation log writer did not confirm within ${SYNC_FLUSH_WAIT_MS} ms`),
    )
  }

  /** Resolves once every log appended so far is committed, without blocking the event loop. */
  async #settled(): Promise<void> {
    const upTo = this.#toConfirm()
    if (upTo === undefined) {
      return
    }
    const ack = ++this.#lastAck
    const written = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#acks.delete(ack)
        this.#reportUnconfirmed()
        resolve(false)
      }, SYNC_FLUSH_WAIT_MS)
      timer.unref()
      this.#acks.set(ack, () => {
        clearTimeout(timer)
        resolve(true)
      })
      this.#writer.postMessage({ ack } satisfies WriterMessage)
    })
    if (written) {
      this.#confirmed = Math.max(this.#confirmed, upTo)
    }
  }

  /**
   * Resolves once every log appended so far (and in this event-loop turn) is committed. The calls
   * of one turn share one round trip to the writer: the async queue asks this per settlement.
   */
  whenWritten(): Promise<void> {
    if (this.#turnWait !== undefined) {
      return this.#turnWait
    }
    if (
      this.#pending.length === 0 &&
      this.#pendingStatus.length === 0 &&
      this.#confirmed >= this.#posted
    ) {
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

  /** Newest first; a log is readable as soon as its invocation has returned. */
  async list(query: InvocationLogQuery): Promise<StoredInvocation[]> {
    await this.#settled()
    let q = this.#db
      .selectFrom('invocation_logs')
      .selectAll()
      .where('function_id', '=', query.functionId)
    if (query.requestId !== undefined) {
      q = q.where('request_id', '=', query.requestId)
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
    const page = this.#searcher.run<Selectable<InvocationLogsTable>>({
      partitionValue: query.functionId,
      fromMs: query.fromMs,
      toMs: query.toMs,
      filters: invocationLogFilters(query, SQLITE_FILTERS),
      narrow: requestNarrow(query.requestId, SQLITE_FILTERS),
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
    const page = this.#statusSearcher.run<StatusRow>({
      partitionValue: query.projectId,
      fromMs: query.fromMs,
      toMs: query.toMs,
      filters: statusLogFilters(query, SQLITE_FILTERS),
      order: query.order,
      cursor: query.cursor,
      limit: query.limit,
    })
    return {
      entries: page.rows.map((r) => ({ position: r.cursor, entry: statusEntryOf(r) })),
      next: page.next,
    }
  }

  /**
   * The function's entries after `after` (a rowid: rows are numbered as they are inserted), oldest
   * first. The rowid is the position: a pruned row's number is not handed out again while later
   * rows exist, and subscribers only read forward from what they saw.
   */
  async readAfter(
    functionId: string,
    after: string | undefined,
    sinceMs: number,
    limit: number,
  ): Promise<FedInvocation[]> {
    await this.#settled()
    const rows = this.#readAfter.all(functionId, Number(after ?? 0), sinceMs, limit) as Array<
      Selectable<InvocationLogsTable> & { position: number }
    >
    return rows.map((r) => ({ position: String(r.position), entry: fromRow(r) }))
  }

  /** Deletes logs of a function (on function delete) and logs older than `before`, in the writer. */
  async prune(options: { functionId?: string; before?: Date }): Promise<void> {
    this.#handOver()
    this.#post({
      prune: {
        ...(options.functionId === undefined ? {} : { functionId: options.functionId }),
        ...(options.before === undefined ? {} : { before: options.before.getTime() }),
      },
    })
    await this.#settled()
  }

  /** Writes what is pending, stops the writer and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) {
      return
    }
    this.flush()
    this.#closed = true
    const writer = this.#writer
    const exited = new Promise<void>((resolve) => {
      if (this.#writerExited) {
        resolve()
      } else {
        writer.once('exit', () => resolve())
      }
    })
    writer.postMessage({ close: true } satisfies WriterMessage)
    // It has nothing left to write; a writer that does not end promptly is stopped.
    const timer = setTimeout(() => void writer.terminate(), 2_000)
    await exited
    clearTimeout(timer)
    await this.#db.destroy()
  }
}
