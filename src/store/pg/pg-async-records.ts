/**
 * @module The record side of the cluster async queue (`AsyncRecordRepository` on PostgreSQL):
 * listing records and dead letters, cancelling a waiting event. Every node reads the same rows, so
 * a record is visible on all nodes once its enqueue or settlement committed.
 */
import type { Kysely } from 'kysely'
import {
  AsyncErrorCodes,
  type AsyncRecord,
  type AsyncRecordQuery,
  type AsyncStatus,
  type StoredDeadLetter,
} from '../../core/index.js'
import { asyncRecordOf, deadLetterOf, isAsyncStatus } from '../async-record-rows.js'
import type { PgAsyncTables } from './pg-async-tables.js'

/** Cancels a `WAIT` event (→ `FAIL`, 4208); the status found, undefined if none. */
export async function cancelWaiting(
  db: Kysely<PgAsyncTables>,
  functionId: string,
  requestId: string,
  nowMs: number,
): Promise<AsyncStatus | undefined> {
  // A row being leased right now is locked: the update waits for it and then sees RUNNING.
  const changed = await db
    .updateTable('async_invocations')
    .set({
      status: 'FAIL',
      error_code: AsyncErrorCodes.CANCELED,
      error_message: 'function invocation canceled',
      ended_at: nowMs,
    })
    .where('request_id', '=', requestId)
    .where('function_id', '=', functionId)
    .where('status', '=', 'WAIT')
    .executeTakeFirst()
  if (changed.numUpdatedRows === 1n) {
    return 'WAIT'
  }
  const row = await db
    .selectFrom('async_invocations')
    .select('status')
    .where('request_id', '=', requestId)
    .where('function_id', '=', functionId)
    .executeTakeFirst()
  return row !== undefined && isAsyncStatus(row.status) ? row.status : undefined
}

export async function listRecords(
  db: Kysely<PgAsyncTables>,
  query: AsyncRecordQuery,
): Promise<{ records: AsyncRecord[]; total: number }> {
  let q = db.selectFrom('async_invocations').where('function_id', '=', query.functionId)
  if (query.requestId !== undefined) {
    q = q.where('request_id', '=', query.requestId)
  }
  if (query.statuses !== undefined && query.statuses.length > 0) {
    q = q.where('status', 'in', [...query.statuses])
  }
  if (query.fromMs !== undefined) {
    q = q.where('accepted_at', '>=', query.fromMs)
  }
  if (query.toMs !== undefined) {
    q = q.where('accepted_at', '<=', query.toMs)
  }
  const [count, rows] = await Promise.all([
    q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    q
      .select([
        'request_id',
        'status',
        'error_code',
        'error_message',
        'accepted_at',
        'started_at',
        'ended_at',
        'attempts',
        'trigger_id',
      ])
      .orderBy('accepted_at', 'desc')
      .orderBy('seq', 'desc')
      .limit(query.limit)
      .offset(query.offset)
      .execute(),
  ])
  return {
    total: Number(count.n),
    records: rows.map(asyncRecordOf),
  }
}

export async function listDeadLetters(
  db: Kysely<PgAsyncTables>,
  functionId: string,
  offset: number,
  limit: number,
): Promise<{ entries: StoredDeadLetter[]; total: number }> {
  const q = db.selectFrom('async_dead_letters').where('function_id', '=', functionId)
  const [count, rows] = await Promise.all([
    q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    q
      .select(['id', 'project_id', 'function_id', 'request_id', 'created_at', 'record'])
      .orderBy('id', 'desc')
      .limit(limit)
      .offset(offset)
      .execute(),
  ])
  return {
    total: Number(count.n),
    entries: rows.map(deadLetterOf),
  }
}
