/**
 * The shared store (PostgreSQL + local code store), opened as a node opens it, against the
 * contract suites of its core repositories (logs, audit, flows and the async queue run theirs in
 * pg-logs-flows.test.ts and pg-async-queue.test.ts). Needs the machine's PostgreSQL (test/helpers/cluster-services.ts): fails without it.
 */
import { describeCodeRepositoryContract } from './code-repository.contract.js'
import { describeFunctionDataContract } from './function-data.contract.js'
import { describeFunctionExtrasContract } from './function-extras.contract.js'
import { describeFunctionRepositoryContract } from './function-repository.contract.js'
import { openPgBackend } from './pg-backend.js'
import { describeProjectLogSettingsContract } from './project-log-settings-repository.contract.js'
import { describeReservedInstanceRepositoryContract } from './reserved-instance-repository.contract.js'
import { describeTenantRepositoryContract } from './tenant-repository.contract.js'
import { describeTracingRepositoryContract } from './tracing-repository.contract.js'
import { describeTriggerRepositoryContract } from './trigger-repository.contract.js'
import { describeVersionRepositoryContract } from './version-repository.contract.js'

describeFunctionRepositoryContract('PostgreSQL', openPgBackend)
describeVersionRepositoryContract('PostgreSQL', openPgBackend)
describeTriggerRepositoryContract('PostgreSQL', openPgBackend)
describeTenantRepositoryContract('PostgreSQL', openPgBackend)
describeProjectLogSettingsContract('PostgreSQL', openPgBackend)
describeCodeRepositoryContract('PostgreSQL', openPgBackend)
describeFunctionDataContract('PostgreSQL', openPgBackend)
describeFunctionExtrasContract('PostgreSQL', openPgBackend)
describeReservedInstanceRepositoryContract('PostgreSQL', openPgBackend)
describeTracingRepositoryContract('PostgreSQL', openPgBackend)
