/**
 * @module The async record and async config repository ports. The queue itself (enqueue, lease,
 * settle) is core's `AsyncQueue`; records are what users read and cancel of it.
 */
import type {
  AsyncInvokeConfig,
  AsyncInvokeConfigInput,
  AsyncRecord,
  AsyncRecordQuery,
  AsyncStatus,
  StoredDeadLetter,
} from '../async-invocation.js'

/**
 * The user's view of async invocations: their records, cancellation of a waiting one, and dead
 * letters. What an `AsyncQueue` accepted (`enqueue` resolved) or settled is visible here at once.
 * `SqliteAsyncQueue` implements both; a broker-backed queue pairs with a database-backed one.
 * Each must pass `test/contract/async-record-repository.contract.ts`.
 */
export interface AsyncRecordRepository {
  /** Newest first, with the count of all that match. */
  list(query: AsyncRecordQuery): Promise<{ records: AsyncRecord[]; total: number }>
  /** Cancels a `WAIT` event (→ `FAIL`, 4208). Resolves to the status found, undefined if none. */
  cancel(functionId: string, requestId: string, nowMs: number): Promise<AsyncStatus | undefined>
  /** Newest first, with their count. */
  deadLetters(
    functionId: string,
    offset: number,
    limit: number,
  ): Promise<{ entries: StoredDeadLetter[]; total: number }>
}

/**
 * Async invoke configs, one per function version or alias. `get` runs for every async attempt, so
 * a backend answers it from memory, misses included.
 */
export interface AsyncConfigRepository {
  get(functionId: string, qualifier: string): Promise<AsyncInvokeConfig | undefined>
  /** Creates or replaces; `createdAt` is kept on replace. */
  put(
    functionId: string,
    qualifier: string,
    input: AsyncInvokeConfigInput,
  ): Promise<AsyncInvokeConfig>
  /** True when there was one to delete. */
  delete(functionId: string, qualifier: string): Promise<boolean>
  /** The configs of all versions and aliases of a function, by qualifier. */
  listOf(functionId: string): Promise<AsyncInvokeConfig[]>
  deleteAllOf(functionId: string): Promise<void>
}
