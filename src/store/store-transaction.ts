/**
 * @module Transactions over several repositories' rows (a function's delete cascade), on SQLite or
 * PostgreSQL. The work is a generator that yields statements and gets their results back: the
 * SQLite driver resumes it synchronously inside one better-sqlite3 transaction, so nothing else on
 * the shared connection (the async queue's group commits and leases, which use it directly) can
 * slip into it or be rolled back with it; the PostgreSQL driver awaits each statement on one
 * pooled client between BEGIN and COMMIT. One body serves both dialects (ADR 0025).
 */
import type SQLite from 'better-sqlite3'
import type { Compilable, Kysely } from 'kysely'
import type pg from 'pg'
import type { Database } from './database.js'

/** A statement a transaction's work hands its driver. */
export interface TxStep {
  readonly kind: 'rows' | 'run'
  readonly query: Compilable<unknown>
}

/** A transaction's work (or part of it): yields statements, returns `T`. Use with `yield*`. */
export type TxWork<T> = Generator<TxStep, T, unknown>

/** What a repository may do inside a transaction: run statements, defer effects to commit. */
export interface StoreTransaction {
  /** Runs a statement (a Kysely query) and returns its rows (`select`, `returning`). */
  rows<Row>(query: Compilable<Row>): TxWork<Row[]>
  /** Runs a statement and returns how many rows it changed. */
  run(query: Compilable<unknown>): TxWork<number>
  /**
   * Runs once the transaction has committed, in the order registered (cache evictions, change
   * announcements); never after a rollback. It must not throw.
   */
  afterCommit(effect: () => void): void
}

/** Runs transactions on the store's database, whichever it is. */
export interface StoreTransactions {
  /**
   * Runs `work` in one transaction: all its statements commit, or none does (anything it throws
   * rolls back and is rethrown). `work` must not wait on anything but its own `yield*`s.
   */
  run<T>(work: (tx: StoreTransaction) => TxWork<T>): Promise<T>
}

/** The steps' constructors, shared by both drivers. */
function transactionOf(effects: Array<() => void>): StoreTransaction {
  return {
    *rows<Row>(query: Compilable<Row>): TxWork<Row[]> {
      return (yield { kind: 'rows', query }) as Row[]
    },
    *run(query: Compilable<unknown>): TxWork<number> {
      return (yield { kind: 'run', query }) as number
    },
    afterCommit: (effect) => effects.push(effect),
  }
}

/** SQLite's synchronous transaction, for SQLite-only stores (flows) that run statements directly. */
export interface SqliteTransaction {
  rows<Row>(query: Compilable<Row>): Row[]
  run(query: Compilable<unknown>): number
  afterCommit(effect: () => void): void
}

/** Runs transactions on the store's one SQLite connection. */
export class SqliteStoreTransactions implements StoreTransactions {
  readonly #db: Kysely<Database>
  readonly #sqlite: SQLite.Database

  constructor(db: Kysely<Database>, sqlite: SQLite.Database) {
    this.#db = db
    this.#sqlite = sqlite
  }

  run<T>(work: (tx: StoreTransaction) => TxWork<T>): Promise<T> {
    return this.runSync((direct) => {
      const effects: Array<() => void> = []
      const steps = work(transactionOf(effects))
      let next = steps.next()
      while (next.done !== true) {
        const step = next.value
        next = steps.next(step.kind === 'rows' ? direct.rows(step.query) : direct.run(step.query))
      }
      for (const effect of effects) {
        direct.afterCommit(effect)
      }
      return next.value
    })
  }

  /**
   * Runs synchronous `work` in one transaction (better-sqlite3 refuses a promise), with the same
   * all-or-nothing and after-commit guarantees as `run`.
   */
  async runSync<T>(work: (tx: SqliteTransaction) => T): Promise<T> {
    // Holding Kysely's connection keeps its transactions (publish, create) from being open now:
    // their `begin` would otherwise make this one a savepoint of theirs.
    return this.#db.connection().execute(() => {
      const effects: Array<() => void> = []
      const tx: SqliteTransaction = {
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

/** Runs transactions on one pooled PostgreSQL client each (BEGIN … COMMIT). */
export class PgStoreTransactions implements StoreTransactions {
  readonly #pool: pg.Pool

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  async run<T>(work: (tx: StoreTransaction) => TxWork<T>): Promise<T> {
    const client = await this.#pool.connect()
    const effects: Array<() => void> = []
    let result: T
    // A client whose rollback failed may be mid-transaction or dead: the pool must not reuse it.
    let broken: Error | undefined
    try {
      await client.query('begin')
      try {
        const steps = work(transactionOf(effects))
        let next = steps.next()
        while (next.done !== true) {
          const compiled = next.value.query.compile()
          const out = await client.query(compiled.sql, compiled.parameters as unknown[])
          next = steps.next(next.value.kind === 'rows' ? out.rows : (out.rowCount ?? 0))
        }
        result = next.value
        await client.query('commit')
      } catch (err) {
        await client.query('rollback').catch((rollbackErr: unknown) => {
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr))
        })
        throw err
      }
    } finally {
      client.release(broken)
    }
    for (const effect of effects) {
      effect()
    }
    return result
  }
}
