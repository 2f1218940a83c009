/**
 * @module The Kysely types of the cluster async queue's tables (migration 0005). `Database`
 * describes the SQLite store's tables of the same names; these are the PostgreSQL ones (with the
 * lease owner), so the queue reads them through this type.
 */
import type { Generated } from 'kysely'

export interface PgAsyncInvocationsTable {
  request_id: string
  /** Insertion order: ties of `accepted_at` list newest first by it. */
  seq: Generated<number>
  project_id: string
  function_id: string
  function_urn: string
  qualifier: string
  payload: Buffer
  timeout_ms: number
  status: string
  /** Epoch ms before which the event is not leased (retry backoff). */
  not_before: number
  lease_token: string | null
  lease_until: number | null
  /** The node id holding the lease: recovery at start takes only its own node's leases. */
  lease_owner: string | null
  /** When the current lease was taken (epoch ms): what a recovered lease reports. */
  leased_at: number | null
  attempts: Generated<number>
  function_errors: Generated<number>
  system_errors: Generated<number>
  error_code: Generated<number>
  error_message: Generated<string>
  accepted_at: number
  started_at: number | null
  ended_at: number | null
  trigger_id: Generated<string>
  traceparent: Generated<string>
  context_headers_json: string | null
}

export interface PgAsyncDeadLettersTable {
  id: Generated<number>
  project_id: string
  function_id: string
  request_id: string
  created_at: number
  record: string
}

export interface PgAsyncTables {
  async_invocations: PgAsyncInvocationsTable
  async_dead_letters: PgAsyncDeadLettersTable
}
