/**
 * @module The cluster async queue's statements (PostgreSQL), and the row a lease returns. Every
 * statement that changes an event is one round trip: a settlement, its destination events and its
 * dead letter are one statement (data-modifying CTEs), so they commit together or not at all.
 */
import type { LeasedEvent, NewAsyncEvent } from '../../core/index.js'
import { leasedEventOf, type LeaseRow } from '../sqlite-async-lease-row.js'

/** The columns a lease returns, as `LeasedEvent` needs them. */
const LEASED_COLUMNS = `a.request_id, a.project_id, a.function_id, a.function_urn, a.qualifier,
  a.payload, a.timeout_ms, a.accepted_at, a.not_before, a.attempts, a.function_errors,
  a.system_errors, a.traceparent, a.context_headers_json, a.lease_token`

export interface PgLeaseRow extends LeaseRow {
  not_before: number
  /** Attempts counted so far, this lease's included when it counts one. */
  attempts: number
  lease_token: string
}

/** A leased row as the dispatcher sees it; `counted`: the lease counted its attempt already. */
export function leasedEventOfRow(r: PgLeaseRow, counted: boolean): LeasedEvent {
  // The embedded queue's mapping; only `attempt` differs (an attempt the lease counted already).
  return { ...leasedEventOf(r, r.lease_token), attempt: counted ? r.attempts : r.attempts + 1 }
}

/** Events as the arrays `unnest` reads: one array per column, `$1`…`$11` of INSERT_EVENTS. */
export function eventArrays(events: readonly NewAsyncEvent[]): unknown[] {
  return [
    events.map((e) => e.requestId),
    events.map((e) => e.projectId),
    events.map((e) => e.functionId),
    events.map((e) => e.functionUrn),
    events.map((e) => e.qualifier),
    events.map((e) => e.payload),
    events.map((e) => e.timeoutMs),
    events.map((e) => e.acceptedAtMs),
    events.map((e) => e.triggerId ?? ''),
    events.map((e) => e.traceparent ?? ''),
    events.map((e) => (e.contextHeaders === undefined ? null : JSON.stringify(e.contextHeaders))),
  ]
}

/** The rows of `eventArrays` at parameter `$from`…`$from+10`. */
function unnestEvents(from: number): string {
  const types = [
    'text',
    'text',
    'text',
    'text',
    'text',
    'bytea',
    'int8',
    'int8',
    'text',
    'text',
    'text',
  ]
  const args = types.map((t, i) => `$${from + i}::${t}[]`).join(', ')
  return `select * from unnest(${args}) as e(request_id, project_id, function_id, function_urn,
    qualifier, payload, timeout_ms, accepted_at, trigger_id, traceparent, context_headers_json)`
}

const INSERT_COLUMNS = `(request_id, project_id, function_id, function_urn, qualifier, payload,
  timeout_ms, status, not_before, accepted_at, trigger_id, traceparent, context_headers_json)`

const SELECT_WAITING = `request_id, project_id, function_id, function_urn, qualifier, payload,
  timeout_ms, 'WAIT', accepted_at, accepted_at, trigger_id, traceparent, context_headers_json`

/**
 * Group commit of accepted events (`eventArrays` as $1…$11). An existing request id is left as it
 * is (the first stays): timers of several nodes enqueue a tick under one id, and one event results.
 */
export const INSERT_EVENTS = `insert into async_invocations ${INSERT_COLUMNS}
  select ${SELECT_WAITING} from (${unnestEvents(1)}) e
  on conflict (request_id) do nothing`

/**
 * An event its trigger source ran itself, inserted as leased ($12 token, $13 attempts, $14 started
 * at, $15 owner) so that the terminal settlement after it ends it.
 */
export const INSERT_RAN = `insert into async_invocations (request_id, project_id, function_id,
    function_urn, qualifier, payload, timeout_ms, status, not_before, accepted_at, trigger_id,
    traceparent, context_headers_json, lease_token, attempts, started_at, lease_owner, leased_at)
  select request_id, project_id, function_id, function_urn, qualifier, payload, timeout_ms,
    'RUNNING', accepted_at, accepted_at, trigger_id, traceparent, context_headers_json, $12, $13,
    $14, $15, $14
  from (${unnestEvents(1)}) e
  on conflict (request_id) do nothing`

/**
 * The functions that have WAIT events and when the earliest is due: a skip scan of the partial
 * index (one probe per function), so a deep backlog costs nothing here.
 */
export const WAITING_FUNCTIONS = `with recursive f(id) as (
    (select function_id from async_invocations where status = 'WAIT'
     order by function_id limit 1)
    union all
    select (select function_id from async_invocations
            where status = 'WAIT' and function_id > f.id order by function_id limit 1)
    from f where f.id is not null
  )
  select id as function_id,
    (select min(not_before) from async_invocations
     where status = 'WAIT' and function_id = f.id) as due
  from f where id is not null`

/**
 * Leases due events: $1 function ids (in the order to serve them), $2 how many of each at most,
 * $3 now, $4 grace ms, $5 owner node, $6 how many in all. The nested loop runs lazily in the
 * order of $1 and stops at $6, so rows are locked (and taken) only as far as they are needed.
 * Rows another node is leasing are skipped, not waited for.
 */
export const LEASE_DUE = `with want as (
    select * from unnest($1::text[], $2::int4[]) as w(function_id, n)
  ), picked as (
    select p.request_id from want cross join lateral (
      select request_id from async_invocations
      where status = 'WAIT' and function_id = want.function_id and not_before <= $3
      order by not_before limit want.n
      for update skip locked
    ) p
    limit $6
  )
  update async_invocations a
  set status = 'RUNNING', lease_token = gen_random_uuid()::text,
      lease_until = $3 + a.timeout_ms + $4, lease_owner = $5, leased_at = $3,
      attempts = a.attempts + 1, started_at = coalesce(a.started_at, $3)
  from picked where a.request_id = picked.request_id and a.status = 'WAIT'
  returning ${LEASED_COLUMNS}`

/**
 * Leases WAIT events of a deleted target to discard them, due or not, counting no attempt: $1
 * function, $2 qualifier (null: all), $3 max, $4 now, $5 grace, $6 owner.
 */
export const LEASE_DELETED = `with picked as (
    select request_id from async_invocations
    where status = 'WAIT' and function_id = $1 and ($2::text is null or qualifier = $2)
    order by not_before limit $3
    for update skip locked
  )
  update async_invocations a
  set status = 'RUNNING', lease_token = gen_random_uuid()::text,
      lease_until = $4 + a.timeout_ms + $5, lease_owner = $6, leased_at = $4
  from picked where a.request_id = picked.request_id and a.status = 'WAIT'
  returning ${LEASED_COLUMNS}`

/** Back to WAIT until $1: $2/$3 add to the function/system error counts; $4 message. */
export const SETTLE_RETRY = `update async_invocations
  set status = 'WAIT', not_before = $1, function_errors = function_errors + $2,
      system_errors = system_errors + $3, error_message = $4, lease_token = null,
      lease_until = null, lease_owner = null
  where request_id = $5 and status = 'RUNNING' and lease_token = $6`

/**
 * The terminal state ($1 status, $2 code, $3 message, $4 ended at) of $5 under lease $6, the dead
 * letter ($7 present, $8 project, $9 function, $10 request, $11 created, $12 record) and the
 * destination events ($13… as `eventArrays`), only when the lease still held: the outbox in one
 * statement.
 */
export const SETTLE_DONE = `with fin as (
    update async_invocations
    set status = $1, error_code = $2, error_message = $3, ended_at = $4, lease_token = null,
        lease_until = null, lease_owner = null
    where request_id = $5 and status = 'RUNNING' and lease_token = $6
    returning request_id
  ), dead as (
    insert into async_dead_letters (project_id, function_id, request_id, created_at, record)
    select $8, $9, $10, $11, $12 where $7::bool and exists (select 1 from fin)
  ), follow as (
    insert into async_invocations ${INSERT_COLUMNS}
    select ${SELECT_WAITING} from (${unnestEvents(13)}) e
    where exists (select 1 from fin)
    on conflict (request_id) do nothing
  )
  select count(*)::int4 as settled from fin`

/**
 * Returns RUNNING events to WAIT as system retries: $1 now; $2 true: those of owner $3 (at start),
 * false: anyone's whose lease ended before $1 (a dead node's).
 */
export const RECOVER = `with lost as (
    select request_id, leased_at, lease_until, timeout_ms, lease_owner from async_invocations
    where status = 'RUNNING' and (case when $2::bool then lease_owner = $3 else lease_until < $1 end)
    for update skip locked
  )
  update async_invocations a
  set status = 'WAIT', system_errors = a.system_errors + 1, not_before = $1, lease_token = null,
      lease_until = null, lease_owner = null,
      error_message = 'The attempt was lost (a Strato node stopped or the worker hung); retrying.'
  from lost where a.request_id = lost.request_id
  returning a.request_id, a.project_id, a.function_id, a.qualifier, a.attempts, lost.leased_at,
    lost.lease_until, lost.timeout_ms, lost.lease_owner`

/**
 * Many plain terminal settlements (no destination event, no dead letter) in one statement: $1
 * request ids, $2 lease tokens, $3 statuses, $4 codes, $5 messages, $6 ended at. Returns the
 * request ids whose lease still held.
 */
export const SETTLE_DONE_MANY = `update async_invocations a
  set status = s.status, error_code = s.error_code, error_message = s.error_message,
      ended_at = s.ended_at, lease_token = null, lease_until = null, lease_owner = null
  from unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::text[], $6::int8[])
    as s(request_id, lease_token, status, error_code, error_message, ended_at)
  where a.request_id = s.request_id and a.status = 'RUNNING' and a.lease_token = s.lease_token
  returning a.request_id`
