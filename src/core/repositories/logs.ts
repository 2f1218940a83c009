/**
 * @module The invocation log repository port: one entry per invocation attempt.
 */
import type { InvocationRecord } from '../invocation-log.js'

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

/** An entry as a log feed hands it out: with its position, to read on after it. */
export interface FedInvocation {
  /** Opaque; later entries of the same function have later positions. */
  readonly position: string
  readonly entry: StoredInvocation
}

/**
 * Port: the entries of one function as they are written, for log subscriptions (LTS triggers).
 * A reader keeps the last position it handled (durably, as a trigger cursor) and asks for what
 * came after; a cluster implements it over its shared log store.
 */
export interface InvocationLogFeed {
  /**
   * Entries of `functionId` written after `after` (a position an earlier read returned; undefined
   * for the first read) that started at or after `sinceMs`, in the order they were written, at
   * most `limit`. Includes what was appended but not yet written.
   */
  readAfter(
    functionId: string,
    after: string | undefined,
    sinceMs: number,
    limit: number,
  ): Promise<FedInvocation[]>
}

/**
 * Invocation logs. `append` is on the invoke path: it only queues (no I/O, no promise); a backend
 * writes in batches. Each must pass `test/contract/invocation-log-repository.contract.ts`.
 */
export interface InvocationLogRepository extends InvocationLogFeed {
  append(record: InvocationRecord, projectId: string, functionId: string): void
  /** Resolves once every entry appended so far is durable (an async settlement waits for it). */
  whenWritten(): Promise<void>
  /** Makes every entry appended so far durable before it returns: for shutdown and tests only. */
  flush(): void
  /** Newest first; an entry is readable as soon as its invocation has returned. */
  list(query: InvocationLogQuery): Promise<StoredInvocation[]>
  /** Deletes the logs of a function (on function delete) and those older than `before`. */
  prune(options: { functionId?: string; before?: Date }): Promise<void>
}
