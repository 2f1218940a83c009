/**
 * The embedded store (SQLite + local code store) against every repository contract. A PostgreSQL
 * backend adds a file like this one with its own opener.
 */
import { describeFunctionRepositoryContract } from './function-repository.contract.js'
import { openSqliteBackend } from './sqlite-backend.js'
import { describeTenantRepositoryContract } from './tenant-repository.contract.js'
import { describeTriggerRepositoryContract } from './trigger-repository.contract.js'
import { describeVersionRepositoryContract } from './version-repository.contract.js'

describeFunctionRepositoryContract('SQLite', openSqliteBackend)
describeVersionRepositoryContract('SQLite', openSqliteBackend)
describeTriggerRepositoryContract('SQLite', openSqliteBackend)
describeTenantRepositoryContract('SQLite', openSqliteBackend)
