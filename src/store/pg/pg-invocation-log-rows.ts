/**
 * @module PgInvocationLogStore's rows: the batch inserts (column arrays `unnest`ed in append
 * order), each entry's logger levels, rows back to entries, and the tables as Kysely sees them.
 */
import type { AsyncStatusLogEntry, InvocationRecord } from '../../core/index.js'
import type { InvocationLogRow, StatusRow } from '../invocation-log-rows.js'
import { pgText, pgTextOrNull } from './pg-text.js'

/**
 * A logger line is `<time> <request id> [<invoke id>] <LEVEL> <message>` (Node, Python, Java, Go,
 * PHP guests); Python's WARNING counts as WARN. The same test as the embedded writer's.
 */
const LEVEL_LINE = /^\S+ (?:\S+ ){1,2}(DEBUG|INFO|WARN|WARNING|ERROR)(?= |$)/gm
const LEVEL_BITS: Readonly<Record<string, number>> = {
  DEBUG: 1,
  INFO: 2,
  WARN: 4,
  WARNING: 4,
  ERROR: 8,
}

/**
 * The levels of an entry's lines as a bit mask (bit i: LOG_LEVELS[i]); a failed invocation has an
 * ERROR line. Computed as a batch is written, never on the invoke path, and on the node rather
 * than in PostgreSQL: the regex costs the shared database 3-4 times the insert itself (measured),
 * while nodes add CPU as they are added.
 */
function levelsOf(output: string, errorType: string | undefined): number {
  let mask = errorType === undefined ? 0 : 8
  for (const m of output.matchAll(LEVEL_LINE)) {
    mask |= LEVEL_BITS[m[1] ?? ''] ?? 0
  }
  return mask
}

/** One multi-row insert per batch: each column as an array, `unnest`ed in append order. */
export const INSERT_SQL = `insert into invocation_logs (request_id, attempt, project_id, function_id,
  version, started_at, duration_ms, billed_ms, memory_size_mb, memory_used_mb, error_type,
  error_message, output, levels)
  select r.request_id, r.attempt, r.project_id, r.function_id, r.version, r.started_at,
    r.duration_ms, r.billed_ms, r.memory_size_mb, r.memory_used_mb, r.error_type, r.error_message,
    r.output, r.levels
  from unnest($1::text[], $2::int4[], $3::text[], $4::text[], $5::text[], $6::int8[],
    $7::float8[], $8::int8[], $9::int4[], $10::float8[], $11::text[], $12::text[], $13::text[], $14::int4[])
    with ordinality as r(request_id, attempt, project_id, function_id, version, started_at,
      duration_ms, billed_ms, memory_size_mb, memory_used_mb, error_type, error_message, output,
      levels, n)
  order by r.n
  on conflict do nothing`

export const INSERT_STATUS_SQL = `insert into async_status_logs (project_id, function_id, function_urn,
  request_id, status, attempts, at, error_code, message)
  select r.project_id, r.function_id, r.function_urn, r.request_id, r.status, r.attempts, r.at,
    r.error_code, r.message
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::int8[],
    $8::int4[], $9::text[]) with ordinality as r(project_id, function_id, function_urn, request_id,
      status, attempts, at, error_code, message, n)
  order by r.n`

/** A stored row: the embedded table's columns (no `levels`) and the write order `position`. */
export type LogRow = InvocationLogRow & { position: number }

export interface Queued {
  readonly projectId: string
  readonly functionId: string
  readonly record: InvocationRecord
}

/** Column arrays of a batch, as INSERT_SQL binds them. */
export function logColumns(batch: readonly Queued[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 14 }, () => [])
  for (const { projectId, functionId, record: r } of batch) {
    // Output and error text are the function's own (a guest may print "\0"): pgText on all.
    const values = [
      pgText(r.requestId),
      r.attempt ?? 1,
      pgText(projectId),
      pgText(functionId),
      pgText(r.version),
      r.startedAtMs,
      r.durationMs,
      r.billedDurationMs,
      r.memorySizeMb,
      r.memoryUsedMb,
      pgTextOrNull(r.errorType),
      pgTextOrNull(r.errorMessage),
      pgText(r.output),
      levelsOf(r.output, r.errorType),
    ]
    values.forEach((v, i) => columns[i]?.push(v))
  }
  return columns
}

export function statusColumns(batch: readonly AsyncStatusLogEntry[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 9 }, () => [])
  for (const e of batch) {
    const values = [
      pgText(e.projectId),
      pgText(e.functionId),
      pgText(e.functionUrn),
      pgText(e.requestId),
      pgText(e.status),
      e.attempts,
      e.atMs,
      e.errorCode,
      pgText(e.message),
    ]
    values.forEach((v, i) => columns[i]?.push(v))
  }
  return columns
}

/** This store's tables, as Kysely sees them (the embedded `logs.db` shapes plus `position`). */
// A type, not an interface: Kysely's `withTables` needs an index-compatible shape.
export type PgLogTables = {
  invocation_logs: Omit<LogRow, 'position'> & {
    readonly position: number
    levels: number
  }
  async_status_logs: StatusRow & { readonly position: number }
}
