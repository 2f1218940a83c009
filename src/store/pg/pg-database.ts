/**
 * @module The shared store's connection (cluster mode): a `pg` pool behind Kysely, with the
 * schema migrated once however many nodes start together.
 */
import { Kysely, PostgresDialect, sql, type MigrationProvider } from 'kysely'
import pg from 'pg'
import { StratoError } from '../../core/index.js'
import type { Database } from '../database.js'
import { pgMigrationProvider } from './pg-migrations.js'

// The schema keeps SQLite's shapes (ms timestamps in bigint, 0/1 flags, JSON in text), so rows read
// the same through either dialect. int8 and numeric would come back as strings by default; every
// one the schema holds is below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number(value))

/** The advisory lock key migrations run under (any constant the cluster agrees on). */
const MIGRATION_LOCK_KEY = 0x5354524154 // "STRAT"

export interface PgDatabase {
  readonly db: Kysely<Database>
  /** The pool under `db`, for what Kysely does not do (LISTEN, COPY, advisory locks). */
  readonly pool: pg.Pool
  close(): Promise<void>
}

export interface OpenPgOptions {
  readonly url: string
  /** Connections this node keeps at most. */
  readonly maxConnections?: number
  /** The schema to use (search_path), created if missing; tests give each backend its own. */
  readonly schema?: string
  /** Migrations to run; the cluster's own list by default. */
  readonly migrations?: MigrationProvider
}

/**
 * Connects and migrates: nodes starting together run each migration once, one after another.
 */
export async function openPgDatabase(options: OpenPgOptions): Promise<PgDatabase> {
  const schema = options.schema
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new StratoError('INVALID_PARAMETER', `Bad PostgreSQL schema name ${schema}.`)
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 16,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  })
  // An idle client's error (the server restarted) must not crash the node; the next query reconnects.
  pool.on('error', () => undefined)
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  try {
    // A session advisory lock around the whole run serialises nodes starting at once.
    const lockHolder = await pool.connect()
    try {
      await lockHolder.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
      if (schema !== undefined) {
        await lockHolder.query(`create schema if not exists ${schema}`)
      }
      await migrate(db, lockHolder, options.migrations ?? pgMigrationProvider)
    } finally {
      await lockHolder.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {})
      lockHolder.release()
    }
  } catch (err) {
    await db.destroy()
    throw new StratoError('INTERNAL', 'Connecting to or migrating the PostgreSQL store failed.', {
      cause: err,
    })
  }
  return {
    db,
    pool,
    close: () => db.destroy(),
  }
}

/**
 * Runs the migrations not yet recorded in `strato_migrations`, in name order, each in its own
 * transaction with its record. Not Kysely's `Migrator`: it looks for its tables by introspecting
 * every table of the database, which fails while another schema's tables are being created or
 * dropped (seen with tests running side by side); the caller holds the advisory lock.
 */
async function migrate(
  db: Kysely<Database>,
  lockHolder: pg.PoolClient,
  provider: MigrationProvider,
): Promise<void> {
  await lockHolder.query(
    'create table if not exists strato_migrations (name text primary key, executed_at timestamptz not null default now())',
  )
  const done = new Set(
    (await lockHolder.query<{ name: string }>('select name from strato_migrations')).rows.map(
      (r) => r.name,
    ),
  )
  const migrations = await provider.getMigrations()
  for (const name of Object.keys(migrations).sort()) {
    const migration = migrations[name]
    if (done.has(name) || migration === undefined) {
      continue
    }
    await db.transaction().execute(async (trx) => {
      await migration.up(trx)
      await sql`insert into strato_migrations (name) values (${name})`.execute(trx)
    })
  }
}
