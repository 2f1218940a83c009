/**
 * The embedded store (SQLite + local code store) against every repository contract. A PostgreSQL
 * backend adds a file like this one with its own opener; the async queue's contract runs in
 * sqlite-async-queue.test.ts.
 */
import { describeAsyncRecordRepositoryContract } from './async-record-repository.contract.js'
import { describeAuditTrailRepositoryContract } from './audit-trail-repository.contract.js'
import { describeCodeRepositoryContract } from './code-repository.contract.js'
import { describeFlowRepositoryContract } from './flow-repository.contract.js'
import { describeFunctionDataContract } from './function-data.contract.js'
import { describeFunctionExtrasContract } from './function-extras.contract.js'
import { describeFunctionRepositoryContract } from './function-repository.contract.js'
import { describeInvocationLogRepositoryContract } from './invocation-log-repository.contract.js'
import { describeProjectLogSettingsContract } from './project-log-settings-repository.contract.js'
import { describeReservedInstanceRepositoryContract } from './reserved-instance-repository.contract.js'
import { openSqliteBackend } from './sqlite-backend.js'
import { describeTracingRepositoryContract } from './tracing-repository.contract.js'
import { describeTenantRepositoryContract } from './tenant-repository.contract.js'
import { describeTriggerRepositoryContract } from './trigger-repository.contract.js'
import { describeVersionRepositoryContract } from './version-repository.contract.js'

describeFunctionRepositoryContract('SQLite', openSqliteBackend)
describeVersionRepositoryContract('SQLite', openSqliteBackend)
describeTriggerRepositoryContract('SQLite', openSqliteBackend)
describeTenantRepositoryContract('SQLite', openSqliteBackend)
describeAsyncRecordRepositoryContract('SQLite', openSqliteBackend)
describeInvocationLogRepositoryContract('SQLite', openSqliteBackend)
describeProjectLogSettingsContract('SQLite', openSqliteBackend)
describeCodeRepositoryContract('SQLite', openSqliteBackend)
describeFunctionDataContract('SQLite', openSqliteBackend)
describeFunctionExtrasContract('SQLite', openSqliteBackend)
describeAuditTrailRepositoryContract('SQLite', openSqliteBackend)
describeReservedInstanceRepositoryContract('SQLite', openSqliteBackend)
describeTracingRepositoryContract('SQLite', openSqliteBackend)
describeFlowRepositoryContract('SQLite', openSqliteBackend)
