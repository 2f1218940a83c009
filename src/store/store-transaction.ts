/**
 * @module One transaction over the shared SQLite connection, for writes that must land together
 * (a function's delete cascade). The work runs synchronously between `begin` and `commit`, so
 * nothing else on the connection (the async queue's group commits and leases, which use it
 * directly) can slip into it or be rolled back with it; Kysely's own queries wait for it.
 */
import type SQLite from 'better-sqlite3'
import type { Compilable, Kysely } from 'kysely'
import type { Database } from './database.js'

/** What a repository may do inside a transaction: run statements now, defer effects to commit. */
export interface StoreTransaction {
  /** Runs a statement (a Kysely query, compiled) and returns its rows (`select`, `returning`). */
  rows<Row>(query: Compilable<Row>): Row[]
  /** Runs a statement and returns how many rows it changed. */
  run(query: Compilable<unknown>): number
  /**
   * Runs once the transaction has committed, in the order registered (cache evictions, change
   * announcements); never after a rollback. It must not throw.
   */
  afterCommit(effect: () => void): void
}

/** Runs transactions on the store's one SQLite connection. */
export class StoreTransactions {
  readonly #db: Kysely<Database>
  readonly #sqlite: SQLite.Database

  constructor(db: Kysely<Database>, sqlite: SQLite.Database) {
    this.#db = db
    this.#sqlite = sqlite
  }

  /**
   * Runs `work` in one transaction: all its statements commit, or none does (anything it throws
   * rolls back and is rethrown). `work` is synchronous by design (better-sqlite3 refuses a promise).
   */
  async run<T>(work: (tx: StoreTransaction) => T): Promise<T> {
    // Holding Kysely's connection keeps its transactions (publish, create) from being open now:
    // their `begin` would otherwise make this one a savepoint of theirs.
    return this.#db.connection().execute(() => {
      const effects: Array<() => void> = []
      const tx: StoreTransaction = {
        rows: <Row>(query: Compilable<Row>): Row[] => {
          const compiled = query.compile()
          return this.#sqlite.prepare(compiled.sql).all(...compiled.parameters) as Row[]
        },
        run: (query) => {
          const compiled = query.compile()
          return this.#sqlite.prepare(compiled.sql).run(...compiled.parameters).changes
        },
        afterCommit: (effect) => effects.push(effect),
      }
      const result = this.#sqlite.transaction(() => work(tx))()
      for (const effect of effects) {
        effect()
      }
      return Promise.resolve(result)
    })
  }
}
