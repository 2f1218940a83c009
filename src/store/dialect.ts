/**
 * @module What differs between the store's two dialects and cannot be said in SQL both accept:
 * serialising checks-then-writes across nodes (PostgreSQL) and recognising a unique violation.
 */
import { sql, type Kysely } from 'kysely'
import type { Database } from './database.js'

/**
 * True when `db` (or a transaction of it) talks to PostgreSQL: its parameters compile to `$1`
 * (SQLite's to `?`), told by Kysely's public compile rather than its internal adapter.
 */
export function isPostgres(db: Kysely<Database>): boolean {
  return sql`select ${1}`.compile(db).sql.includes('$1')
}

/**
 * Within a transaction: waits until no other transaction holds `key`, then holds it until commit
 * or rollback. SQLite needs none (one process writes, and Kysely runs one transaction at a time on
 * its connection); on PostgreSQL it makes a check-then-insert (a quota, a route) atomic across
 * nodes, which READ COMMITTED alone does not.
 */
export async function lockWithin(tx: Kysely<Database>, key: string): Promise<void> {
  if (isPostgres(tx)) {
    await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(tx)
  }
}

/** A write refused by a unique index or primary key (another node wrote the same row first). */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || !('code' in err)) {
    return false
  }
  const code = err.code
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  )
}
