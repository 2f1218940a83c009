import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect, sql } from 'kysely'
import { afterEach, describe, expect, test } from 'vitest'
import { freshPgSchema, PG_TEST_URL } from '../../test/helpers/cluster-services.js'
import type { Database } from './database.js'
import { openPgDatabase } from './pg/pg-database.js'
import {
  PgStoreTransactions,
  SqliteStoreTransactions,
  type StoreTransaction,
  type StoreTransactions,
  type TxWork,
} from './store-transaction.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) {
    await cleanup()
  }
})

const TABLE = `create table tenants (project_id text primary key, domain_id text not null,
  name text not null, created_at text not null)`

async function sqliteDriver(): Promise<{ db: Kysely<Database>; tx: StoreTransactions }> {
  const sqlite = new SQLite(':memory:')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  await sql.raw(TABLE).execute(db)
  cleanups.push(() => db.destroy())
  return { db, tx: new SqliteStoreTransactions(db, sqlite) }
}

async function pgDriver(): Promise<{ db: Kysely<Database>; tx: StoreTransactions }> {
  const fresh = freshPgSchema()
  const pg = await openPgDatabase({
    url: PG_TEST_URL,
    schema: fresh.schema,
    migrations: { getMigrations: () => Promise.resolve({}) },
  })
  await sql.raw(TABLE).execute(pg.db)
  cleanups.push(async () => {
    await pg.close()
    await fresh.drop()
  })
  return { db: pg.db, tx: new PgStoreTransactions(pg.pool) }
}

/** Inserts two tenants, reads them back inside the transaction, then fails if told to. */
function* work(
  db: Kysely<Database>,
  tx: StoreTransaction,
  fail: boolean,
  committed: string[],
): TxWork<number> {
  for (const id of ['a', 'b']) {
    yield* tx.run(
      db.insertInto('tenants').values({ project_id: id, domain_id: id, name: id, created_at: '' }),
    )
  }
  const rows = yield* tx.rows(db.selectFrom('tenants').select('project_id'))
  tx.afterCommit(() => committed.push('done'))
  if (fail) {
    throw new Error('refused half-way')
  }
  return rows.length
}

describe.each([
  ['SQLite', sqliteDriver],
  ['PostgreSQL', pgDriver],
])('StoreTransactions on %s', (_name, open) => {
  test('a transaction commits all its statements, then runs its after-commit effects', async () => {
    const { db, tx } = await open()
    const committed: string[] = []
    expect(await tx.run((t) => work(db, t, false, committed))).toBe(2)
    expect(committed).toEqual(['done'])
    expect(await db.selectFrom('tenants').selectAll().execute()).toHaveLength(2)
  })

  test('a throw rolls every statement back and runs no effect', async () => {
    const { db, tx } = await open()
    const committed: string[] = []
    await expect(tx.run((t) => work(db, t, true, committed))).rejects.toThrow('refused half-way')
    expect(committed).toEqual([])
    expect(await db.selectFrom('tenants').selectAll().execute()).toHaveLength(0)
  })
})
