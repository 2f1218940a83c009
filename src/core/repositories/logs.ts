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

/** The levels guests' loggers write (`<time> <request id> <LEVEL> <message>`), lowest first. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/**
 * A search over one function's entries. Filters other than the time range and the cursor are
 * checked on at most a fixed number of rows per call (the backend's scan budget), so a call costs
 * the same whatever the table holds; a page may then come back short, or empty, with a cursor
 * to go on from.
 */
export interface InvocationLogSearch {
  readonly functionId: string
  /** Started at or after (epoch ms). */
  readonly fromMs?: number | undefined
  /** Started at or before (epoch ms). */
  readonly toMs?: number | undefined
  readonly requestId?: string | undefined
  /** Entries with at least one line at this level or above (a failed invocation has an ERROR line). */
  readonly minLevel?: LogLevel | undefined
  readonly status?: 'success' | 'error' | undefined
  /** Case-sensitive text the function's output or error message contains. */
  readonly contains?: string | undefined
  /**
   * `desc`: newest start first (a query over a time range); `asc`: in the order entries were
   * written (a follow: an invocation that started earlier but finished later is not skipped).
   */
  readonly order: 'asc' | 'desc'
  /** A `next` an earlier page of the same order returned. */
  readonly cursor?: string | undefined
  readonly limit: number
}

export interface InvocationLogPage {
  readonly entries: FedInvocation[]
  /**
   * Where the next page starts. In `asc` order always set (a follow asks again later with it);
   * in `desc` order undefined once the search reached its end.
   */
  readonly next: string | undefined
}

/** One status change of an async event, as the project's async-status log stream records it. */
export interface AsyncStatusLogEntry {
  readonly projectId: string
  readonly functionId: string
  readonly functionUrn: string
  readonly requestId: string
  /** WAIT (accepted, or back to waiting for a retry), RUNNING, SUCCESS, FAIL, DISCARD. */
  readonly status: string
  /** Attempts started so far. */
  readonly attempts: number
  readonly atMs: number
  readonly errorCode: number
  /** Why: the retry's or the failure's reason ('' for none). */
  readonly message: string
}

export interface AsyncStatusLogSearch {
  readonly projectId: string
  readonly fromMs?: number | undefined
  readonly toMs?: number | undefined
  readonly requestId?: string | undefined
  readonly status?: string | undefined
  /** `asc` in write order (follow), `desc` newest first. */
  readonly order: 'asc' | 'desc'
  readonly cursor?: string | undefined
  readonly limit: number
}

export interface AsyncStatusLogPage {
  readonly entries: Array<{ readonly position: string; readonly entry: AsyncStatusLogEntry }>
  readonly next: string | undefined
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
  /** Filters and pages one function's entries at a bounded cost per call (see the search). */
  search(query: InvocationLogSearch): Promise<InvocationLogPage>
  /** Queues one async status change (no I/O, like `append`). */
  appendAsyncStatus(entry: AsyncStatusLogEntry): void
  /** A project's async status changes, paged like `search`. */
  searchAsyncStatus(query: AsyncStatusLogSearch): Promise<AsyncStatusLogPage>
  /** Deletes the logs of a function (on function delete) and those older than `before` (async status entries too). */
  prune(options: { functionId?: string; before?: Date }): Promise<void>
}

/**
 * Per-project log switches (FunctionGraph's `enable-async-status-logs`): durable, read on every
 * async status change, so a backend answers `asyncStatusLogEnabled` from memory.
 * Each must pass `test/contract/project-log-settings-repository.contract.ts`.
 */
export interface ProjectLogSettingsRepository {
  asyncStatusLogEnabled(projectId: string): boolean
  /** Turns the project's async status log on or off; resolves once durable. */
  setAsyncStatusLog(projectId: string, enabled: boolean): Promise<void>
}
