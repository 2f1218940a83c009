/**
 * @module Schema migrations, in code so that the embedded build needs no files beside it.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely'

const migrations: Record<string, Migration> = {
  '0001-core': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('tenants')
        .addColumn('project_id', 'text', (c) => c.primaryKey())
        .addColumn('domain_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('access_keys')
        .addColumn('access_key', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) =>
          c.notNull().references('tenants.project_id').onDelete('cascade'),
        )
        .addColumn('secret_enc', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('functions')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('package', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('runtime', 'text', (c) => c.notNull())
        .addColumn('handler', 'text', (c) => c.notNull())
        .addColumn('memory_size', 'integer', (c) => c.notNull())
        .addColumn('timeout', 'integer', (c) => c.notNull())
        .addColumn('user_data', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('initializer_handler', 'text', (c) => c.notNull())
        .addColumn('initializer_timeout', 'integer', (c) => c.notNull())
        .addColumn('max_instances', 'integer', (c) => c.notNull())
        .addColumn('concurrent_num', 'integer', (c) => c.notNull())
        .addColumn('extra_json', 'text', (c) => c.notNull())
        .addColumn('code_type', 'text', (c) => c.notNull())
        .addColumn('code_filename', 'text', (c) => c.notNull())
        .addColumn('code_size', 'integer', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_modified', 'text', (c) => c.notNull())
        .addUniqueConstraint('functions_project_package_name', ['project_id', 'package', 'name'])
        .execute()
      await db.schema
        .createTable('invocation_logs')
        .addColumn('request_id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('function_id', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('started_at', 'integer', (c) => c.notNull())
        .addColumn('duration_ms', 'real', (c) => c.notNull())
        .addColumn('billed_ms', 'integer', (c) => c.notNull())
        .addColumn('memory_size_mb', 'integer', (c) => c.notNull())
        .addColumn('memory_used_mb', 'real', (c) => c.notNull())
        .addColumn('error_type', 'text')
        .addColumn('error_message', 'text')
        .addColumn('output', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('invocation_logs_by_function')
        .on('invocation_logs')
        .columns(['function_id', 'started_at'])
        .execute()
    },
  },
  '0002-versions-and-aliases': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('function_versions')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('function_id', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('snapshot_json', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('function_versions_function_version', ['function_id', 'version'])
        .execute()
      await db.schema
        .createTable('function_aliases')
        .addColumn('function_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('weights_json', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_modified', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('function_aliases_pk', ['function_id', 'name'])
        .execute()
    },
  },
  '0003-encrypted-user-data': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('functions')
        .addColumn('encrypted_user_data', 'text', (c) => c.notNull().defaultTo(''))
        .execute()
    },
  },
  '0004-test-events-and-tags': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('function_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('function_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('last_modified', 'integer', (c) => c.notNull())
        .addUniqueConstraint('function_events_function_name', ['function_id', 'name'])
        .execute()
      await db.schema
        .createTable('function_tags')
        .addColumn('function_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('function_tags_pk', ['function_id', 'key'])
        .execute()
    },
  },
  '0005-dependencies': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('functions')
        .addColumn('depend_version_list', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute()
      await db.schema
        .createTable('dependencies')
        .addColumn('dep_id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('runtime', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('dependencies_project_name_runtime', ['project_id', 'name', 'runtime'])
        .execute()
      await db.schema
        .createTable('dependency_versions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('dep_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('last_modified', 'integer', (c) => c.notNull())
        .addUniqueConstraint('dependency_versions_dep_version', ['dep_id', 'version'])
        .execute()
    },
  },
  '0006-alias-strategy': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('function_aliases')
        .addColumn('strategy_json', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute()
    },
  },
  '0007-async-invocations': {
    async up(db: Kysely<unknown>): Promise<void> {
      // The embedded async queue (ADR 0006): one row per accepted event, from WAIT to a terminal
      // status. Times are epoch milliseconds.
      await db.schema
        .createTable('async_invocations')
        .addColumn('request_id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('function_id', 'text', (c) => c.notNull())
        .addColumn('function_urn', 'text', (c) => c.notNull())
        .addColumn('qualifier', 'text', (c) => c.notNull())
        .addColumn('payload', 'blob', (c) => c.notNull())
        .addColumn('timeout_ms', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('not_before', 'integer', (c) => c.notNull())
        .addColumn('lease_token', 'text')
        .addColumn('lease_until', 'integer')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('function_errors', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('system_errors', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('error_code', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('error_message', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('accepted_at', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'integer')
        .addColumn('ended_at', 'integer')
        .execute()
      // Leasing: due WAIT events of one function, oldest first.
      await db.schema
        .createIndex('async_invocations_due')
        .on('async_invocations')
        .columns(['status', 'function_id', 'not_before'])
        .execute()
      // Listing records of a function, newest first.
      await db.schema
        .createIndex('async_invocations_by_function')
        .on('async_invocations')
        .columns(['function_id', 'accepted_at'])
        .execute()
      await db.schema
        .createTable('async_dead_letters')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('function_id', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('async_dead_letters_by_function')
        .on('async_dead_letters')
        .columns(['function_id', 'id'])
        .execute()
      await db.schema
        .createTable('async_invoke_configs')
        .addColumn('function_id', 'text', (c) => c.notNull())
        .addColumn('qualifier', 'text', (c) => c.notNull())
        .addColumn('max_event_age_s', 'integer', (c) => c.notNull())
        .addColumn('max_retry_attempts', 'integer', (c) => c.notNull())
        .addColumn('on_success_json', 'text')
        .addColumn('on_failure_json', 'text')
        .addColumn('enable_status_log', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_modified', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('async_invoke_configs_pk', ['function_id', 'qualifier'])
        .execute()
    },
  },
  '0008-invocation-log-attempts': {
    async up(db: Kysely<unknown>): Promise<void> {
      // An async event may run several times under one request id: the log key becomes
      // (request_id, attempt). SQLite cannot change a primary key in place, so the table is rebuilt.
      await db.schema
        .createTable('invocation_logs_v2')
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('function_id', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('started_at', 'integer', (c) => c.notNull())
        .addColumn('duration_ms', 'real', (c) => c.notNull())
        .addColumn('billed_ms', 'integer', (c) => c.notNull())
        .addColumn('memory_size_mb', 'integer', (c) => c.notNull())
        .addColumn('memory_used_mb', 'real', (c) => c.notNull())
        .addColumn('error_type', 'text')
        .addColumn('error_message', 'text')
        .addColumn('output', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('invocation_logs_pk', ['request_id', 'attempt'])
        .execute()
      await sql`insert into invocation_logs_v2
        select request_id, 1, project_id, function_id, version, started_at, duration_ms, billed_ms,
               memory_size_mb, memory_used_mb, error_type, error_message, output
        from invocation_logs`.execute(db)
      await db.schema.dropTable('invocation_logs').execute()
      await db.schema.alterTable('invocation_logs_v2').renameTo('invocation_logs').execute()
      await db.schema
        .createIndex('invocation_logs_by_function')
        .on('invocation_logs')
        .columns(['function_id', 'started_at'])
        .execute()
    },
  },
  '0009-triggers': {
    async up(db: Kysely<unknown>): Promise<void> {
      // One table for every trigger type: what differs per type lives in event_data_json.
      await db.schema
        .createTable('function_triggers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('function_id', 'text', (c) =>
          c.notNull().references('functions.id').onDelete('cascade'),
        )
        .addColumn('qualifier', 'text', (c) => c.notNull())
        .addColumn('function_urn', 'text', (c) => c.notNull())
        .addColumn('type_code', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('event_type_code', 'text', (c) => c.notNull())
        .addColumn('event_data_json', 'text', (c) => c.notNull())
        .addColumn('app_key', 'text', (c) => c.notNull())
        .addColumn('app_secret_sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('function_triggers_by_function')
        .on('function_triggers')
        .columns(['function_id', 'qualifier'])
        .execute()
      await db.schema
        .createIndex('function_triggers_by_type')
        .on('function_triggers')
        .columns(['type_code'])
        .execute()
    },
  },
  '0010-trigger-cursors': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Where a trigger source got to (a timer's last fired tick, a log subscription's last line):
      // kept with the trigger, so it goes when the trigger does.
      await db.schema
        .alterTable('function_triggers')
        .addColumn('source_cursor', 'text', (c) => c.notNull().defaultTo(''))
        .execute()
    },
  },
  '0011-async-trigger-id': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Which trigger fired an async event ('' for an API call): records show it.
      await db.schema
        .alterTable('async_invocations')
        .addColumn('trigger_id', 'text', (c) => c.notNull().defaultTo(''))
        .execute()
    },
  },
  '0012-usage-hours': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Requests and GB-seconds per function and hour: the durable basis of pay-per-use. Rows
      // outlive their function (a bill does not forget a deleted function).
      await db.schema
        .createTable('usage_hours')
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('function_id', 'text', (c) => c.notNull())
        .addColumn('function_name', 'text', (c) => c.notNull())
        .addColumn('hour_start', 'integer', (c) => c.notNull())
        .addColumn('requests', 'integer', (c) => c.notNull())
        .addColumn('gb_seconds', 'real', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_hours_pk', ['project_id', 'hour_start', 'function_id'])
        .execute()
    },
  },
  '0013-function-tracing': {
    async up(db: Kysely<unknown>): Promise<void> {
      // updateTracing's switch, one row per function that ever set it; gone with the function.
      await db.schema
        .createTable('function_tracing')
        .addColumn('function_id', 'text', (c) =>
          c.primaryKey().references('functions.id').onDelete('cascade'),
        )
        .addColumn('tracing_ak', 'text', (c) => c.notNull())
        .addColumn('tracing_sk_sealed', 'text', (c) => c.notNull())
        .addColumn('last_modified', 'text', (c) => c.notNull())
        .execute()
      // The trace context an async event was accepted in, so its attempts join that trace.
      await db.schema
        .alterTable('async_invocations')
        .addColumn('traceparent', 'text', (c) => c.notNull().defaultTo(''))
        .execute()
    },
  },
  '0014-audit-trail': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Management calls (CTS traces), append-only. `seq` orders them: ListTraces pages newest
      // first by it, the CTS trigger reads on after it.
      await sql`CREATE TABLE audit_traces (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        trace_id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        trace_name TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        resource_name TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        function_urn TEXT NOT NULL,
        code INTEGER NOT NULL,
        error_code TEXT NOT NULL,
        source_ip TEXT NOT NULL,
        access_key TEXT NOT NULL,
        request_id TEXT NOT NULL,
        trace_type TEXT NOT NULL
      )`.execute(db)
      await db.schema
        .createIndex('audit_traces_by_project')
        .on('audit_traces')
        .columns(['project_id', 'seq'])
        .execute()
      await db.schema
        .createIndex('audit_traces_by_time')
        .on('audit_traces')
        .columns(['time_ms'])
        .execute()
    },
  },
  '0015-reserved-instances': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Reservations outlive restarts: the scheduler re-establishes each one at start.
      await db.schema
        .createTable('reserved_instance_configs')
        .addColumn('function_id', 'text', (c) =>
          c.notNull().references('functions.id').onDelete('cascade'),
        )
        .addColumn('qualifier', 'text', (c) => c.notNull())
        .addColumn('qualifier_type', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('idle_mode', 'integer', (c) => c.notNull())
        .addColumn('cron_policies_json', 'text', (c) => c.notNull())
        .addColumn('metric_policies_json', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('reserved_instance_configs_pk', ['function_id', 'qualifier'])
        .execute()
      await db.schema
        .createIndex('reserved_instance_configs_by_project')
        .on('reserved_instance_configs')
        .columns(['project_id', 'function_id'])
        .execute()
    },
  },
  '0016-project-log-settings': {
    async up(db: Kysely<unknown>): Promise<void> {
      // FunctionGraph's enable-async-status-logs is a project's switch, not a function's.
      await db.schema
        .createTable('project_log_settings')
        .addColumn('project_id', 'text', (c) => c.primaryKey())
        .addColumn('async_status_log', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
    },
  },
  '0017-flows': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Function flows. A workflow's executions and their histories go with it (ON DELETE
      // CASCADE); an execution's lease (owner, token, until) fences every append (flow-store.ts).
      await sql`CREATE TABLE workflows (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        mode TEXT NOT NULL,
        urn TEXT NOT NULL,
        language TEXT NOT NULL,
        definition_json TEXT NOT NULL,
        ir_json TEXT NOT NULL,
        enable_stream_response INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        UNIQUE (project_id, name)
      )`.execute(db)
      await sql`CREATE TABLE flow_executions (
        id TEXT PRIMARY KEY,
        workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
        project_id TEXT NOT NULL,
        workflow_urn TEXT NOT NULL,
        workflow_name TEXT NOT NULL,
        mode TEXT NOT NULL,
        status TEXT NOT NULL,
        input_json TEXT NOT NULL,
        output_json TEXT,
        error_json TEXT,
        headers_json TEXT NOT NULL,
        ir_json TEXT NOT NULL,
        created_by TEXT NOT NULL,
        begin_at INTEGER NOT NULL,
        end_at INTEGER,
        updated_at INTEGER NOT NULL,
        redrive_count INTEGER NOT NULL,
        event_count INTEGER NOT NULL,
        lease_owner TEXT NOT NULL,
        lease_token INTEGER NOT NULL,
        lease_until INTEGER NOT NULL
      )`.execute(db)
      await sql`CREATE INDEX flow_executions_by_workflow
        ON flow_executions (workflow_id, begin_at)`.execute(db)
      await sql`CREATE INDEX flow_executions_by_project
        ON flow_executions (project_id, begin_at)`.execute(db)
      await sql`CREATE INDEX flow_executions_running
        ON flow_executions (lease_until) WHERE status = 'running'`.execute(db)
      await sql`CREATE TABLE flow_events (
        execution_id TEXT NOT NULL REFERENCES flow_executions(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        path TEXT NOT NULL,
        state_name TEXT NOT NULL,
        node_id TEXT NOT NULL,
        node_name TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        at INTEGER NOT NULL,
        payload_json TEXT NOT NULL,
        request_id TEXT,
        PRIMARY KEY (execution_id, seq)
      ) WITHOUT ROWID`.execute(db)
    },
  },
  '0019-function-apps': {
    async up(db: Kysely<unknown>): Promise<void> {
      // An application's members are few and always read together: one JSON column, no join.
      await db.schema
        .createTable('function_apps')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('template_id', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('params_json', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('members_json', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .addUniqueConstraint('function_apps_project_name', ['project_id', 'name'])
        .execute()
    },
  },
  '0019-function-collect': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('function_collect')
        .addColumn('function_id', 'text', (c) =>
          c.primaryKey().references('functions.id').onDelete('cascade'),
        )
        .addColumn('collected_at', 'integer', (c) => c.notNull())
        .execute()
    },
  },
  '0019-function-snapshots': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('function_snapshots')
        .addColumn('function_id', 'text', (c) =>
          c.primaryKey().references('functions.id').onDelete('cascade'),
        )
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('enabled_at', 'integer', (c) => c.notNull())
        .execute()
    },
  },
  '0020-async-context-headers': {
    async up(db: Kysely<unknown>): Promise<void> {
      // The headers every attempt of an async event hands the guest (a flow's callback task sets
      // the x-cff-workflow-* ones): a JSON object, null for none.
      await db.schema
        .alterTable('async_invocations')
        .addColumn('context_headers_json', 'text')
        .execute()
    },
  },
  '0021-vpc-endpoints': {
    async up(db: Kysely<unknown>): Promise<void> {
      // No foreign key to a network: networks are settings (STRATO_NETWORKS), not rows, and an
      // endpoint outlives the operator removing its network (creating one checks, deleting not).
      await db.schema
        .createTable('vpc_endpoints')
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('vpc_id', 'text', (c) => c.notNull())
        .addColumn('subnet_id', 'text', (c) => c.notNull())
        .addColumn('flavor', 'text', (c) => c.notNull())
        .addColumn('xrole', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('vpc_endpoints_pk', ['project_id', 'vpc_id', 'subnet_id'])
        .execute()
    },
  },
}

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
}
