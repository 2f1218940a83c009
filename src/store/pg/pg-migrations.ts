/**
 * @module The shared store's schema, as Kysely migrations. Each area keeps its own file under
 * `migrations/` (tables of one concern together); names sort in the order they must run. A
 * migration never changes once released: a change is a new one.
 */
import type { Migration, MigrationProvider } from 'kysely'

const MIGRATIONS: Record<string, Migration> = {}

export const pgMigrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
}
