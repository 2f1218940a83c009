/**
 * @module The record side of the embedded async queue (`AsyncRecordRepository`): listing records
 * and dead letters, cancelling a waiting event. `SqliteAsyncQueue` calls these once it has
 * committed what it holds, so a read sees every event `enqueue` resolved.
 */
import type SQLite from 'better-sqlite3'
import {
  AsyncErrorCodes,
  type AsyncRecord,
  type AsyncRecordQuery,
  type AsyncStatus,
  type StoredDeadLetter,
} from '../core/index.js'
import {
  asyncRecordOf,
  deadLetterOf,
  isAsyncStatus,
  type AsyncRecordRow,
  type DeadLetterRow,
} from './async-record-rows.js'

/** Cancels a `WAIT` event (→ `FAIL`, 4208); the status found, undefined if none. */
export function cancelWaiting(
  db: SQLite.Database,
  functionId: string,
  requestId: string,
  nowMs: number,
): AsyncStatus | undefined {
  const changed = db
    .prepare(
      `update async_invocations
       set status = 'FAIL', error_code = ?, error_message = 'function invocation canceled',
           ended_at = ?
       where request_id = ? and function_id = ? and status = 'WAIT'`,
    )
    .run(AsyncErrorCodes.CANCELED, nowMs, requestId, functionId).changes
  if (changed === 1) {
    return 'WAIT'
  }
  const row = db
    .prepare(`select status from async_invocations where request_id = ? and function_id = ?`)
    .get(requestId, functionId) as { status: string } | undefined
  return row !== undefined && isAsyncStatus(row.status) ? row.status : undefined
}

export function listRecords(
  db: SQLite.Database,
  query: AsyncRecordQuery,
): { records: AsyncRecord[]; total: number } {
  const where: string[] = ['function_id = ?']
  const args: Array<string | number> = [query.functionId]
  if (query.requestId !== undefined) {
    where.push('request_id = ?')
    args.push(query.requestId)
  }
  if (query.statuses !== undefined && query.statuses.length > 0) {
    where.push(`status in (${query.statuses.map(() => '?').join(', ')})`)
    args.push(...query.statuses)
  }
  if (query.fromMs !== undefined) {
    where.push('accepted_at >= ?')
    args.push(query.fromMs)
  }
  if (query.toMs !== undefined) {
    where.push('accepted_at <= ?')
    args.push(query.toMs)
  }
  const clause = where.join(' and ')
  const total = (
    db.prepare(`select count(*) as n from async_invocations where ${clause}`).get(...args) as {
      n: number
    }
  ).n
  const rows = db
    .prepare(
      `select request_id, status, error_code, error_message, accepted_at, started_at, ended_at,
              attempts, trigger_id
       from async_invocations where ${clause}
       order by accepted_at desc, rowid desc limit ? offset ?`,
    )
    .all(...args, query.limit, query.offset) as AsyncRecordRow[]
  return {
    total,
    records: rows.map(asyncRecordOf),
  }
}

export function listDeadLetters(
  db: SQLite.Database,
  functionId: string,
  offset: number,
  limit: number,
): { entries: StoredDeadLetter[]; total: number } {
  const total = (
    db
      .prepare(`select count(*) as n from async_dead_letters where function_id = ?`)
      .get(functionId) as { n: number }
  ).n
  const rows = db
    .prepare(
      `select id, project_id, function_id, request_id, created_at, record
       from async_dead_letters where function_id = ? order by id desc limit ? offset ?`,
    )
    .all(functionId, limit, offset) as DeadLetterRow[]
  return {
    total,
    entries: rows.map(deadLetterOf),
  }
}
