/**
 * @module Per-invocation logs, written in batches off the hot path and read by request id.
 */
import type SQLite from 'better-sqlite3'
import type { Kysely, Selectable } from 'kysely'
import type { InvocationRecord } from '../core/index.js'
import type { Database, InvocationLogsTable } from './database.js'

/** A stored invocation: what was recorded, and whose it is. */
export interface StoredInvocation extends InvocationRecord {
  readonly projectId: string
  readonly functionId: string
}

export interface InvocationLogQuery {
  readonly functionId: string
  readonly requestId?: string | undefined
  readonly limit: number
}

/** How long a batch may wait before it is written; a full batch is written at once. */
const FLUSH_DELAY_MS = 50
const BATCH_ROWS = 500

const INSERT_SQL = `insert or ignore into invocation_logs
  (request_id, attempt, project_id, function_id, version, started_at, duration_ms, billed_ms,
   memory_size_mb, memory_used_mb, error_type, error_message, output)
  values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

function fromRow(r: Selectable<InvocationLogsTable>): StoredInvocation {
  return {
    requestId: r.request_id,
    attempt: r.attempt,
    projectId: r.project_id,
    functionId: r.function_id,
    version: r.version,
    startedAtMs: r.started_at,
    durationMs: r.duration_ms,
    billedDurationMs: r.billed_ms,
    memorySizeMb: r.memory_size_mb,
    memoryUsedMb: r.memory_used_mb,
    errorType: r.error_type ?? undefined,
    errorMessage: r.error_message ?? undefined,
    output: r.output,
  }
}

/**
 * Appends are queued in memory and written in one transaction through a prepared statement, so a
 * busy function costs one commit per batch rather than per invocation. `flush()` on shutdown writes
 * what is pending; a crash can lose the last ≤50 ms of logs, never an invocation's result.
 */
export class InvocationLogStore {
  readonly #db: Kysely<Database>
  readonly #insertBatch: (rows: readonly StoredInvocation[]) => void
  #pending: StoredInvocation[] = []
  #timer: NodeJS.Timeout | undefined
  readonly #onError: (err: unknown) => void

  constructor(db: Kysely<Database>, sqlite: SQLite.Database, onError: (err: unknown) => void) {
    this.#db = db
    this.#onError = onError
    // The hot path's only write: a prepared statement in a transaction, not a query built per batch.
    const insert = sqlite.prepare(INSERT_SQL)
    this.#insertBatch = sqlite.transaction((rows: readonly StoredInvocation[]) => {
      for (const r of rows) {
        insert.run(
          r.requestId,
          r.attempt ?? 1,
          r.projectId,
          r.functionId,
          r.version,
          r.startedAtMs,
          r.durationMs,
          r.billedDurationMs,
          r.memorySizeMb,
          r.memoryUsedMb,
          r.errorType ?? null,
          r.errorMessage ?? null,
          r.output,
        )
      }
    })
  }

  append(entry: StoredInvocation): void {
    this.#pending.push(entry)
    if (this.#pending.length >= BATCH_ROWS) {
      this.flush()
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.flush()
      }, FLUSH_DELAY_MS)
    }
  }

  /** Writes everything queued so far (synchronously: better-sqlite3 blocks for the batch). */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    if (this.#pending.length === 0) {
      return
    }
    const batch = this.#pending
    this.#pending = []
    try {
      this.#insertBatch(batch)
    } catch (err) {
      this.#onError(err)
    }
  }

  /** Newest first. Flushes first so a log is readable right after its invocation returns. */
  async list(query: InvocationLogQuery): Promise<StoredInvocation[]> {
    this.flush()
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

  /** Deletes logs of a function (on function delete) and logs older than `before`. */
  async prune(options: { functionId?: string; before?: Date }): Promise<void> {
    this.flush()
    if (options.functionId !== undefined) {
      await this.#db
        .deleteFrom('invocation_logs')
        .where('function_id', '=', options.functionId)
        .execute()
    }
    if (options.before !== undefined) {
      await this.#db
        .deleteFrom('invocation_logs')
        .where('started_at', '<', options.before.getTime())
        .execute()
    }
  }
}
