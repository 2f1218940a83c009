/**
 * @module The invocation log rows and search filters both log stores share (the embedded
 * InvocationLogStore over `logs.db` and the cluster PgInvocationLogStore): same columns, same
 * level masks, same filters. The dialect's pieces (the "contains" test, how a bound text is made
 * safe) are passed in.
 */
import {
  LOG_LEVELS,
  type AsyncStatusLogEntry,
  type AsyncStatusLogSearch,
  type InvocationLogSearch,
  type StoredInvocation,
} from '../core/index.js'
import type { InvocationLogsTable } from './database.js'
import type { RowFilter } from './log-search.js'

/** The mask of `level` and every level above it. */
export function levelsFrom(level: (typeof LOG_LEVELS)[number]): number {
  let mask = 0
  for (let i = LOG_LEVELS.indexOf(level); i < LOG_LEVELS.length; i++) {
    mask |= 1 << i
  }
  return mask
}

export interface StatusRow {
  project_id: string
  function_id: string
  function_urn: string
  request_id: string
  status: string
  attempts: number
  at: number
  error_code: number
  message: string
}

/** A stored log row (the columns a record is read from). */
export type InvocationLogRow = Omit<InvocationLogsTable, 'levels'>

export function fromRow(r: InvocationLogRow): StoredInvocation {
  return {
    requestId: r.request_id,
    attempt: r.attempt,
    projectId: r.project_id,
    functionId: r.function_id,
    version: r.version,
    // Numbers already in SQLite; PostgreSQL's int8 columns are made numbers here too.
    startedAtMs: Number(r.started_at),
    durationMs: r.duration_ms,
    billedDurationMs: Number(r.billed_ms),
    memorySizeMb: r.memory_size_mb,
    memoryUsedMb: r.memory_used_mb,
    errorType: r.error_type ?? undefined,
    errorMessage: r.error_message ?? undefined,
    output: r.output,
  }
}

export function statusEntryOf(r: StatusRow): AsyncStatusLogEntry {
  return {
    projectId: r.project_id,
    functionId: r.function_id,
    functionUrn: r.function_urn,
    requestId: r.request_id,
    status: r.status,
    attempts: r.attempts,
    atMs: Number(r.at),
    errorCode: r.error_code,
    message: r.message,
  }
}

/** What differs between the two stores' filters. */
export interface LogFilterDialect {
  /** A text as bound (PostgreSQL cannot hold a NUL: `pgText`). */
  readonly text: (value: string) => string
  /** "output or error message contains ?" with two `?` for the same text. */
  readonly containsSql: string
}

/** The filters of an invocation log search (applied to the rows in the scan budget). */
export function invocationLogFilters(
  query: InvocationLogSearch,
  dialect: LogFilterDialect,
): RowFilter[] {
  const filters: RowFilter[] = []
  if (query.minLevel !== undefined) {
    filters.push({ sql: '(levels & ?) <> 0', params: [levelsFrom(query.minLevel)] })
  }
  if (query.status !== undefined) {
    filters.push({
      sql: query.status === 'error' ? 'error_type is not null' : 'error_type is null',
      params: [],
    })
  }
  if (query.contains !== undefined) {
    const text = dialect.text(query.contains)
    filters.push({ sql: dialect.containsSql, params: [text, text] })
  }
  return filters
}

/** The primary key (request_id, attempt) finds a request however old it is. */
export function requestNarrow(
  requestId: string | undefined,
  dialect: LogFilterDialect,
): RowFilter | undefined {
  return requestId === undefined
    ? undefined
    : { sql: 'request_id = ?', params: [dialect.text(requestId)] }
}

/** The filters of an async status log search. */
export function statusLogFilters(
  query: AsyncStatusLogSearch,
  dialect: LogFilterDialect,
): RowFilter[] {
  const filters: RowFilter[] = []
  if (query.requestId !== undefined) {
    filters.push({ sql: 'request_id = ?', params: [dialect.text(query.requestId)] })
  }
  if (query.status !== undefined) {
    filters.push({ sql: 'status = ?', params: [query.status] })
  }
  return filters
}
