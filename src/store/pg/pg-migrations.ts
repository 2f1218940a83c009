/**
 * @module The shared store's schema, as Kysely migrations. Each area keeps its own file under
 * `migrations/` (tables of one concern together); names sort in the order they must run. A
 * migration never changes once released: a change is a new one.
 */
import type { Migration, MigrationProvider } from 'kysely'
import { coreMigration } from './migrations/0001-core.js'
import { logsMigration } from './migrations/0002-logs.js'
import { auditUsageMigration } from './migrations/0003-audit-usage.js'
import { flowsMigration } from './migrations/0004-flows.js'
import { asyncQueueMigration } from './migrations/0005-async.js'

const MIGRATIONS: Record<string, Migration> = {
  '0001-core': coreMigration,
  '0002-logs': logsMigration,
  '0003-audit-usage': auditUsageMigration,
  '0004-flows': flowsMigration,
  '0005-async': asyncQueueMigration,
}

export const pgMigrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
}
