/**
 * @module Invocation logs and async status log entries in the shared store (the shapes of
 * `logs.db`, see invocation-log-store.ts). `position` is the write order a follow reads in:
 * batches insert under one advisory lock, so positions are handed out in commit order across
 * nodes and a reader past position n never misses a row committed later with a smaller one.
 */
import { sql, type Kysely, type Migration } from 'kysely'

export const logsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`create table invocation_logs (
      position bigint generated always as identity,
      request_id text not null,
      attempt integer not null,
      project_id text not null,
      function_id text not null,
      version text not null,
      started_at bigint not null,
      duration_ms double precision not null,
      billed_ms bigint not null,
      memory_size_mb integer not null,
      memory_used_mb double precision not null,
      error_type text,
      error_message text,
      output text not null,
      levels integer not null,
      constraint invocation_logs_pk primary key (request_id, attempt)
    )`.execute(db)
    // desc searches: newest start first within a function.
    await sql`create index invocation_logs_by_function
      on invocation_logs (function_id, started_at, position)`.execute(db)
    // asc searches and readAfter: a function's rows in write order.
    await sql`create index invocation_logs_by_function_position
      on invocation_logs (function_id, position)`.execute(db)
    // Retention: prune by age.
    await sql`create index invocation_logs_by_time on invocation_logs (started_at)`.execute(db)
    await sql`create table async_status_logs (
      position bigint generated always as identity primary key,
      project_id text not null,
      function_id text not null,
      function_urn text not null,
      request_id text not null,
      status text not null,
      attempts integer not null,
      at bigint not null,
      error_code integer not null,
      message text not null
    )`.execute(db)
    await sql`create index async_status_logs_by_project
      on async_status_logs (project_id, at, position)`.execute(db)
    await sql`create index async_status_logs_by_project_position
      on async_status_logs (project_id, position)`.execute(db)
    await sql`create index async_status_logs_by_function
      on async_status_logs (function_id)`.execute(db)
    await sql`create index async_status_logs_by_time on async_status_logs (at)`.execute(db)
  },
}
