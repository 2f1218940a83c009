/**
 * @module The embedded async queue's prepared statements: what a lease, a settlement and a dead
 * letter write, compiled once per connection.
 */
import type SQLite from 'better-sqlite3'

const INSERT_SQL = `insert or ignore into async_invocations
  (request_id, project_id, function_id, function_urn, qualifier, payload, timeout_ms, status,
   not_before, accepted_at, trigger_id, traceparent, context_headers_json)
  values (?, ?, ?, ?, ?, ?, ?, 'WAIT', ?, ?, ?, ?, ?)`

/** An event a trigger source ran itself, inserted as leased so that its settlement ends it. */
const INSERT_RAN_SQL = `insert or ignore into async_invocations
  (request_id, project_id, function_id, function_urn, qualifier, payload, timeout_ms, status,
   not_before, accepted_at, trigger_id, traceparent, context_headers_json, lease_token, attempts,
   started_at)
  values (?, ?, ?, ?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?)`

export interface QueueStatements {
  readonly insert: SQLite.Statement
  readonly insertRan: SQLite.Statement
  readonly selectDue: SQLite.Statement
  readonly minDue: SQLite.Statement
  readonly lease: SQLite.Statement
  readonly finish: SQLite.Statement
  readonly retry: SQLite.Statement
  readonly deadLetter: SQLite.Statement
}

export function prepareQueueStatements(db: SQLite.Database): QueueStatements {
  return {
    insert: db.prepare(INSERT_SQL),
    insertRan: db.prepare(INSERT_RAN_SQL),
    selectDue: db.prepare(`select request_id, project_id, function_id, function_urn, qualifier,
        payload, timeout_ms, accepted_at, attempts, function_errors, system_errors, traceparent,
        context_headers_json
      from async_invocations
      where status = 'WAIT' and function_id = ? and not_before <= ?
      order by not_before limit ?`),
    minDue: db.prepare(`select min(not_before) as due from async_invocations
      where status = 'WAIT' and function_id = ?`),
    lease: db.prepare(`update async_invocations
      set status = 'RUNNING', lease_token = ?, lease_until = ?, attempts = attempts + 1,
          started_at = coalesce(started_at, ?)
      where request_id = ? and status = 'WAIT'`),
    finish: db.prepare(`update async_invocations
      set status = ?, error_code = ?, error_message = ?, ended_at = ?, lease_token = null,
          lease_until = null
      where request_id = ? and status = 'RUNNING' and lease_token = ?`),
    retry: db.prepare(`update async_invocations
      set status = 'WAIT', not_before = ?, function_errors = function_errors + ?,
          system_errors = system_errors + ?, error_message = ?, lease_token = null,
          lease_until = null
      where request_id = ? and status = 'RUNNING' and lease_token = ?`),
    deadLetter: db.prepare(`insert into async_dead_letters
      (project_id, function_id, request_id, created_at, record) values (?, ?, ?, ?, ?)`),
  }
}
