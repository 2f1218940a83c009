/**
 * @module Per-invocation logs, written in batches off the hot path and read by request id.
 */
import type { Kysely } from 'kysely'
import type { Database, InvocationLogsTable } from './database.js'

export type InvocationLogEntry = InvocationLogsTable

export interface InvocationLogQuery {
  readonly functionId: string
  readonly requestId?: string | undefined
  readonly limit: number
}

/** How long a batch may wait before it is written; a full batch is written at once. */
const FLUSH_DELAY_MS = 50
const BATCH_ROWS = 500

/**
 * Appends are queued in memory and written as one multi-row insert, so a busy function costs one
 * write per batch rather than per invocation. `flush()` on shutdown writes what is pending; a crash
 * can lose the last ≤50 ms of logs, never an invocation's result.
 */
export class InvocationLogStore {
  readonly #db: Kysely<Database>
  #pending: InvocationLogEntry[] = []
  #timer: NodeJS.Timeout | undefined
  #writing: Promise<void> = Promise.resolve()
  readonly #onError: (err: unknown) => void

  constructor(db: Kysely<Database>, onError: (err: unknown) => void) {
    this.#db = db
    this.#onError = onError
  }

  append(entry: InvocationLogEntry): void {
    this.#pending.push(entry)
    if (this.#pending.length >= BATCH_ROWS) {
      this.#schedule(0)
    } else if (this.#timer === undefined) {
      this.#schedule(FLUSH_DELAY_MS)
    }
  }

  #schedule(delayMs: number): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.flush()
    }, delayMs)
  }

  /** Writes everything queued so far. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    const batch = this.#pending
    this.#pending = []
    this.#writing = this.#writing.then(async () => {
      for (let i = 0; i < batch.length; i += BATCH_ROWS) {
        await this.#db
          .insertInto('invocation_logs')
          .values(batch.slice(i, i + BATCH_ROWS))
          .onConflict((oc) => oc.column('request_id').doNothing())
          .execute()
          .catch(this.#onError)
      }
    })
    return this.#writing
  }

  /** Newest first. Flushes first so a log is readable right after its invocation returns. */
  async list(query: InvocationLogQuery): Promise<InvocationLogEntry[]> {
    await this.flush()
    let q = this.#db
      .selectFrom('invocation_logs')
      .selectAll()
      .where('function_id', '=', query.functionId)
    if (query.requestId !== undefined) {
      q = q.where('request_id', '=', query.requestId)
    }
    return q.orderBy('started_at', 'desc').limit(query.limit).execute()
  }

  /** Deletes logs of a function (on function delete) and logs older than `before`. */
  async prune(options: { functionId?: string; before?: Date }): Promise<void> {
    await this.flush()
    if (options.functionId !== undefined) {
      await this.#db
        .deleteFrom('invocation_logs')
        .where('function_id', '=', options.functionId)
        .execute()
    }
    if (options.before !== undefined) {
      await this.#db
        .deleteFrom('invocation_logs')
        .where('started_at', '<', options.before.toISOString())
        .execute()
    }
  }
}
