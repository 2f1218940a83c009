/**
 * @module The audit trail (`audit_traces`, as audit-trail-store.ts) and hourly usage
 * (`usage_hours`, as usage-store.ts) in the shared store. `seq` orders the trail; batches insert
 * under an advisory lock, so seq follows commit order across nodes (the CTS feed reads after it).
 */
import { sql, type Kysely, type Migration } from 'kysely'

export const auditUsageMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`create table audit_traces (
      seq bigint generated always as identity primary key,
      trace_id text not null unique,
      project_id text not null,
      time_ms bigint not null,
      trace_name text not null,
      resource_type text not null,
      resource_name text not null,
      resource_id text not null,
      function_urn text not null,
      code integer not null,
      error_code text not null,
      source_ip text not null,
      access_key text not null,
      request_id text not null,
      trace_type text not null
    )`.execute(db)
    await sql`create index audit_traces_by_project on audit_traces (project_id, seq)`.execute(db)
    await sql`create index audit_traces_by_time on audit_traces (time_ms)`.execute(db)
    await sql`create table usage_hours (
      project_id text not null,
      function_id text not null,
      function_name text not null,
      hour_start bigint not null,
      requests bigint not null,
      gb_seconds double precision not null,
      constraint usage_hours_pk primary key (project_id, hour_start, function_id)
    )`.execute(db)
  },
}
