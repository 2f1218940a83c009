/**
 * @module The shared store's schema, as Kysely migrations. Each area keeps its own file under
 * `migrations/` (tables of one concern together); names sort in the order they must run. A
 * migration never changes once released: a change is a new one.
 */
import type { Migration, MigrationProvider } from 'kysely'
import { asyncQueueMigration } from './migrations/0005-async.js'

const MIGRATIONS: Record<string, Migration> = {
  '0005-async': asyncQueueMigration,
}

export const pgMigrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
}
