/**
 * @module The database schema as Kysely types: this interface is the table layout.
 */
import type { Generated } from 'kysely'

export interface TenantsTable {
  project_id: string
  domain_id: string
  name: string
  created_at: string
}

export interface AccessKeysTable {
  access_key: string
  project_id: string
  /** AES-256-GCM ciphertext of the secret key under the data dir's master key. */
  secret_enc: string
  created_at: string
}

export interface FunctionsTable {
  id: string
  project_id: string
  package: string
  name: string
  runtime: string
  handler: string
  memory_size: number
  timeout: number
  user_data: string
  /** Sealed `encrypted_user_data` ('' for none). */
  encrypted_user_data: string
  /** Attached dependency version ids, as a JSON array. */
  depend_version_list: string
  description: string
  initializer_handler: string
  initializer_timeout: number
  max_instances: number
  concurrent_num: number
  extra_json: string
  code_type: string
  code_filename: string
  code_size: number
  digest: string
  revision: number
  /** Insertion order, the `marker` of list pagination. */
  seq: Generated<number>
  created_at: string
  last_modified: string
}

export interface InvocationLogsTable {
  request_id: string
  /** 1 for sync calls and the first attempt of an async event. */
  attempt: number
  project_id: string
  function_id: string
  version: string
  /** Epoch milliseconds. */
  started_at: number
  duration_ms: number
  billed_ms: number
  memory_size_mb: number
  memory_used_mb: number
  error_type: string | null
  error_message: string | null
  /** The function's own output; the Start/Finish lines are formatted when read. */
  output: string
  /** Bit i set: a line at LOG_LEVELS[i] (see invocation-log-store.ts); null only while unknown. */
  levels: number | null
}

export interface FunctionVersionsTable {
  function_id: string
  version: string
  description: string
  /** The function record at publish time, as JSON (see version-store.ts). */
  snapshot_json: string
  seq: Generated<number>
  created_at: string
}

export interface FunctionAliasesTable {
  function_id: string
  name: string
  version: string
  description: string
  /** `additional_version_weights` as JSON: `{ "<version>": <percent> }`. */
  weights_json: string
  /** `additional_version_strategy` as JSON (see version-store.ts). */
  strategy_json: string
  created_at: string
  last_modified: string
}

export interface FunctionEventsTable {
  id: string
  function_id: string
  name: string
  /** Base64 of the event JSON, as the API takes and returns it. */
  content: string
  /** Epoch seconds, FunctionGraph's format for test events. */
  last_modified: number
}

export interface FunctionTagsTable {
  function_id: string
  key: string
  value: string
}

export interface DependenciesTable {
  dep_id: string
  project_id: string
  name: string
  runtime: string
  created_at: string
}

export interface DependencyVersionsTable {
  id: string
  dep_id: string
  version: number
  digest: string
  size: number
  etag: string
  file_name: string
  description: string
  /** Epoch seconds. */
  last_modified: number
}

export interface AsyncInvocationsTable {
  request_id: string
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
  attempts: number
  function_errors: number
  system_errors: number
  error_code: number
  error_message: string
  accepted_at: number
  started_at: number | null
  ended_at: number | null
  /** The trigger that fired the event ('' for an API call). */
  trigger_id: string
  /** The W3C trace context it was accepted in ('' for none). */
  traceparent: string
  /** The headers every attempt hands the guest, a JSON object (null for none). */
  context_headers_json: string | null
}

export interface AsyncDeadLettersTable {
  id: Generated<number>
  project_id: string
  function_id: string
  request_id: string
  created_at: number
  /** The destination payload (reference §6.10), JSON. */
  record: string
}

export interface AsyncInvokeConfigsTable {
  function_id: string
  /** `latest`, a version name or `!alias`. */
  qualifier: string
  max_event_age_s: number
  max_retry_attempts: number
  /** `{destination, param}` as JSON, or null. */
  on_success_json: string | null
  on_failure_json: string | null
  enable_status_log: number
  created_at: string
  last_modified: string
}

export interface FunctionTracingTable {
  function_id: string
  tracing_ak: string
  tracing_sk_sealed: string
  last_modified: string
}

export interface FunctionTriggersTable {
  id: string
  project_id: string
  function_id: string
  qualifier: string
  function_urn: string
  type_code: string
  status: string
  event_type_code: string
  event_data_json: string
  app_key: string
  app_secret_sealed: string
  created_at: number
  updated_at: number
  /** The source's own progress ('' before any): see `TriggerRepository.saveCursor`. */
  source_cursor: Generated<string>
}

export interface UsageHoursTable {
  project_id: string
  function_id: string
  function_name: string
  hour_start: number
  requests: number
  gb_seconds: number
}

/** `logs.db`: invocation logs live in their own file, written by a worker thread (ADR 0008). */
export interface LogsDatabase {
  invocation_logs: InvocationLogsTable
}

/** `strato.db`: everything else. */
/** One reservation per function version or alias (`updateFunctionReservedInstancesCount`). */
export interface ReservedInstanceConfigsTable {
  function_id: string
  /** `latest`, a version name or an alias name (see `qualifier_type`). */
  qualifier: string
  qualifier_type: 'version' | 'alias'
  project_id: string
  count: number
  idle_mode: number
  /** `ReservedCronPolicy[]` as JSON. */
  cron_policies_json: string
  /** `ReservedMetricPolicy[]` as JSON. */
  metric_policies_json: string
  updated_at: number
}

export interface Database {
  reserved_instance_configs: ReservedInstanceConfigsTable
  function_triggers: FunctionTriggersTable
  tenants: TenantsTable
  access_keys: AccessKeysTable
  functions: FunctionsTable
  function_versions: FunctionVersionsTable
  function_aliases: FunctionAliasesTable
  function_events: FunctionEventsTable
  function_tags: FunctionTagsTable
  dependencies: DependenciesTable
  dependency_versions: DependencyVersionsTable
  async_invocations: AsyncInvocationsTable
  async_dead_letters: AsyncDeadLettersTable
  async_invoke_configs: AsyncInvokeConfigsTable
  function_tracing: FunctionTracingTable
  usage_hours: UsageHoursTable
  project_log_settings: ProjectLogSettingsTable
  workflows: WorkflowsTable
  flow_executions: FlowExecutionsTable
  flow_events: FlowEventsTable
  function_apps: FunctionAppsTable
  function_collect: FunctionCollectTable
  function_snapshots: FunctionSnapshotsTable
  vpc_endpoints: VpcEndpointsTable
}

/** Per-project log switches (`enable-async-status-logs`); a project without a row has them off. */
export interface ProjectLogSettingsTable {
  project_id: string
  /** 1: async status changes are written to the project's async-status log stream. */
  async_status_log: number
  updated_at: string
}

/** Function flows (migration `0017-flows`); times are epoch ms. */
export interface WorkflowsTable {
  id: string
  project_id: string
  name: string
  description: string
  mode: string
  urn: string
  language: string
  definition_json: string
  ir_json: string
  enable_stream_response: number
  created_by: string
  created_at: number
  updated_at: number
  /** Creation order, for stable list pages. */
  seq: number
}

export interface FlowExecutionsTable {
  id: string
  workflow_id: string
  project_id: string
  workflow_urn: string
  workflow_name: string
  mode: string
  status: string
  input_json: string
  output_json: string | null
  /** `ExecutionError` as JSON. */
  error_json: string | null
  headers_json: string
  ir_json: string
  created_by: string
  begin_at: number
  end_at: number | null
  updated_at: number
  redrive_count: number
  event_count: number
  /** '' when nobody holds the lease. */
  lease_owner: string
  /** Grows with every claim: an append carrying an older token is fenced out. */
  lease_token: number
  lease_until: number
}

export interface FlowEventsTable {
  execution_id: string
  seq: number
  type: string
  path: string
  state_name: string
  node_id: string
  node_name: string
  attempt: number
  at: number
  payload_json: string
  request_id: string | null
}

/** Function applications (`/fgs/applications`); members and params as JSON. */
export interface FunctionAppsTable {
  id: string
  project_id: string
  name: string
  template_id: string
  description: string
  /** `Record<string, string>` as JSON. */
  params_json: string
  status: 'creating' | 'success'
  /** `FunctionAppMember[]` as JSON. */
  members_json: string
  created_at: number
  updated_at: number
}

/** Collected (favourite) functions: a row each. */
export interface FunctionCollectTable {
  function_id: string
  collected_at: number
}

/** Functions with snapshot start on: a row each. */
export interface FunctionSnapshotsTable {
  function_id: string
  project_id: string
  enabled_at: number
}

/** VPC endpoints: a project's registrations to use a named network, a row each. */
export interface VpcEndpointsTable {
  project_id: string
  vpc_id: string
  subnet_id: string
  flavor: string
  xrole: string
  created_at: number
}
