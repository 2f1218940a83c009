/**
 * The shared store (PostgreSQL + local code store) against the contract suites of the repositories
 * it implements so far; logs, audit, usage, flows and the async queue join with their PostgreSQL
 * classes. Needs the machine's PostgreSQL (test/helpers/cluster-services.ts): fails without it.
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
// The async queue's half of tracing runs once PostgreSQL's async queue is in (drop the option).
describeTracingRepositoryContract('PostgreSQL', openPgBackend, { asyncQueue: false })
