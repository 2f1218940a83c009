/**
 * @module Migration 0005: the cluster's async queue (ADR 0026), the SQLite queue's two tables with
 * the columns of a lease held by one node of several (`lease_owner`, `leased_at`).
 */
import { sql, type Kysely, type Migration } from 'kysely'

export const asyncQueueMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // One row per accepted event, from WAIT to a terminal status; times are epoch ms (bigint), as
    // in the SQLite store, so both read the same.
    await sql`create table async_invocations (
      request_id text primary key,
      -- Insertion order: the tie-break of records accepted in the same millisecond (SQLite's rowid).
      seq bigint generated always as identity,
      project_id text not null,
      function_id text not null,
      function_urn text not null,
      qualifier text not null,
      payload bytea not null,
      timeout_ms bigint not null,
      status text not null,
      not_before bigint not null,
      lease_token text,
      lease_until bigint,
      lease_owner text,
      leased_at bigint,
      attempts integer not null default 0,
      function_errors integer not null default 0,
      system_errors integer not null default 0,
      error_code integer not null default 0,
      error_message text not null default '',
      accepted_at bigint not null,
      started_at bigint,
      ended_at bigint,
      trigger_id text not null default '',
      traceparent text not null default '',
      context_headers_json text
    )`.execute(db)
    // Leasing reads only WAIT rows: a partial index stays as small as the backlog, and a skip scan
    // over it finds the functions that have any (see pg-async-queue.ts).
    await sql`create index async_invocations_wait on async_invocations (function_id, not_before)
      where status = 'WAIT'`.execute(db)
    // Recovery looks for RUNNING rows: by owner at start, by expiry on every sweep.
    await sql`create index async_invocations_running on async_invocations (lease_until)
      include (lease_owner) where status = 'RUNNING'`.execute(db)
    // Listing records of a function, newest first; pruning terminal rows by age.
    await sql`create index async_invocations_by_function on async_invocations
      (function_id, accepted_at desc, seq desc)`.execute(db)
    await sql`create index async_invocations_ended on async_invocations (ended_at)
      where ended_at is not null`.execute(db)
    await sql`create table async_dead_letters (
      id bigserial primary key,
      project_id text not null,
      function_id text not null,
      request_id text not null,
      created_at bigint not null,
      record text not null
    )`.execute(db)
    await sql`create index async_dead_letters_by_function on async_dead_letters (function_id, id)`.execute(
      db,
    )
    await sql`create index async_dead_letters_created on async_dead_letters (created_at)`.execute(
      db,
    )
  },
}
